"""``cad bench video``: consultations through our design (the signaling of ``cad serve`` and a
private Janus forwarding packets), against a relay on aiortc alone
(:mod:`command.bench.video_baseline`: it decodes what it receives and encodes again for every
viewer), with the same participants, in one run.

The participants are aiortc peers (the load generator) sending the test pattern
(``video.media.pattern``) at ``--fps``: every frame counted is decoded and read back as its
sender's. The joins run in this process; in the consultation each participant has a process of
its own, so that the load generator uses every core.

- join to first frame: one participant sends; ``--joins`` others join one after the other, each
  timed from opening its socket to its first decoded frame of the sender (p50, p95);
- a consultation of ``--parties`` (the first at 640x480, the others at 320x240, everyone seeing
  everyone): frames per second delivered on each stream over ``--seconds``, and the CPU of the
  media plane (Janus's process; the relay's process) per forwarded stream, beside the load
  generator's own CPU (when it nears a full core, the figures measure it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

import httpx
import psutil
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from av import VideoFrame
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect

from command import tables
from command.auth.passwords import new_token, token_digest
from command.auth.service import create_device_token, create_user
from command.bench.scratch import drop_on_sigterm, scratch_engine
from command.bench.servers import http_ready, port_ready, server_process
from command.bench.stats import Timing, load_average, percentile
from command.bench.workers import answer
from command.cli.common import ensure_embedded_running
from command.errors import InvalidInput
from command.settings import Settings
from dispatch import store as dispatch_store
from dispatch.units import Unit, UnitStatus
from ops.janus import JanusServer
from ops.pgcluster import free_port
from video.media.pattern import PatternTrack, identify
from video.peer import Peer, Received

OURS = "janus sfu"
BASELINE = "aiortc relay"


@dataclass(frozen=True)
class Plan:
    joins: int = 20
    parties: int = 6
    seconds: float = 10.0
    warmup_s: float = 3.0
    #: the frame rate every participant sends
    fps: float = 30.0


@dataclass(frozen=True)
class Phase:
    server: str
    join: Timing
    #: frames per second on each stream of the consultation of ``parties``
    fps: list[float]
    streams: int
    #: the media plane's CPU over the window, per cent of one core; and per forwarded stream
    server_cpu_pct: float
    cpu_per_stream_pct: float
    loadgen_cpu_pct: float
    load: float


@dataclass(frozen=True)
class Result:
    plan: Plan
    phases: list[Phase]


class Participant(Protocol):
    received: asyncio.Queue[Received]

    async def close(self) -> None: ...


# -- counting what a participant receives -----------------------------------------------------

class _Counter:
    """Decoded frames per sender, read by the pattern (a frame of someone else is not counted)."""

    def __init__(self, participant: Participant, senders: dict[str, int]) -> None:
        self.frames: dict[str, int] = dict.fromkeys(senders, 0)
        self._senders = senders
        self._tasks: list[asyncio.Task[None]] = []
        self._pump = asyncio.create_task(self._watch(participant))

    async def _watch(self, participant: Participant) -> None:
        while True:
            got = await participant.received.get()
            if got.kind == "video" and got.member in self._senders:
                self._tasks.append(asyncio.create_task(self._read(got)))

    async def _read(self, got: Received) -> None:
        assert got.member is not None
        while True:
            frame = await got.track.recv()
            if isinstance(frame, VideoFrame) and identify(frame).index == self._senders[got.member]:
                self.frames[got.member] += 1

    async def stop(self) -> None:
        for task in [self._pump, *self._tasks]:
            task.cancel()
        await asyncio.gather(self._pump, *self._tasks, return_exceptions=True)


async def _first_frame(participant: Participant, member: str, index: int) -> None:
    while True:
        got = await participant.received.get()
        if got.kind != "video" or got.member != member:
            continue
        while True:
            frame = await got.track.recv()
            if isinstance(frame, VideoFrame) and identify(frame).index == index:
                return


# -- the baseline's client --------------------------------------------------------------------

class RelayPeer:
    """A participant of the baseline relay: one connection to send, one to receive."""

    def __init__(self, ws: ClientConnection, name: str) -> None:
        self._ws = ws
        self.name = name
        self.received: asyncio.Queue[Received] = asyncio.Queue()
        self._sender: RTCPeerConnection | None = None
        self._viewer: RTCPeerConnection | None = None

    @classmethod
    async def join(cls, url: str, name: str) -> RelayPeer:
        return cls(await connect(url, max_size=2**22), name)

    async def publish(self, tracks: Sequence[MediaStreamTrack]) -> None:
        self._sender = RTCPeerConnection()
        for track in tracks:
            self._sender.addTransceiver(track, direction="sendonly")
        await self._sender.setLocalDescription(await self._sender.createOffer())
        await self._ws.send(json.dumps({"type": "publish", "name": self.name,
                                        "sdp": self._sender.localDescription.sdp}))
        answer = json.loads(await self._ws.recv())
        await self._sender.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    async def wait_for(self, count: int) -> None:
        await self._ws.send(json.dumps({"type": "wait", "name": self.name, "count": count}))
        await self._ws.recv()

    async def view(self) -> None:
        await self._ws.send(json.dumps({"type": "view", "name": self.name}))
        offer = json.loads(await self._ws.recv())
        members = {str(s["mid"]): str(s["member"]) for s in offer["streams"]}
        pc = self._viewer = RTCPeerConnection()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            mid = next((t.mid for t in pc.getTransceivers() if t.receiver.track is track), None)
            self.received.put_nowait(Received(0, members.get(str(mid)), track.kind, track))

        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self._ws.send(json.dumps({"type": "answer", "name": self.name,
                                        "sdp": pc.localDescription.sdp}))

    async def close(self) -> None:
        await self._ws.close()
        for pc in (self._sender, self._viewer):
            if pc is not None:
                await pc.close()


# -- the phases -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Side:
    """How a participant reaches one of the two designs (plain data: it goes to the
    participants' processes)."""

    server: str  # OURS or BASELINE
    url: str
    #: per participant: a device token (ours) or a name (the relay)
    credentials: tuple[str, ...]
    consultation_id: int = 0


async def _join(side: Side, i: int) -> Participant:
    if side.server == OURS:
        return await Peer.join(side.url, side.credentials[i], side.consultation_id)
    return await RelayPeer.join(side.url, side.credentials[i])


async def _publish(p: Participant, i: int, fps: float) -> None:
    track = PatternTrack(i, scale=2 if i == 0 else 1, fps=fps)
    assert isinstance(p, Peer | RelayPeer)
    await p.publish([track])


async def _view(p: Participant, count: int) -> None:
    if isinstance(p, Peer):
        await p.subscribe("all")
        return
    assert isinstance(p, RelayPeer)
    await p.wait_for(count)  # the relay offers only what is published already
    await p.view()


async def _joins(plan: Plan, side: Side, names: Sequence[str]) -> Timing:
    """One sender; ``plan.joins`` viewers one after the other, from socket to first frame."""
    sender = await _join(side, 0)
    samples: list[float] = []
    try:
        await _publish(sender, 0, plan.fps)
        for n in range(plan.joins):
            started = time.perf_counter()
            viewer = await _join(side, 1 + n % (len(names) - 1))
            try:
                await _view(viewer, 1)
                await asyncio.wait_for(_first_frame(viewer, names[0], 0), 30)
                samples.append((time.perf_counter() - started) * 1000)
            finally:
                await viewer.close()
    finally:
        await sender.close()
    return Timing.of(samples)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


# -- the consultation of ``parties``: a process for each participant ---------------------------

def _seat_process(conn: Connection, side: Side, i: int, plan: Plan, names: list[str]) -> None:
    """One participant in a process of its own (the load generator spread over the cores):
    sends, sees everyone, and answers ``count`` with its decoded frames per sender and its
    CPU seconds, until ``stop``."""
    try:
        asyncio.run(_seat(conn, side, i, plan, names))
    except Exception as exc:  # reported to the benchmark, which stops
        conn.send({"failed": f"{type(exc).__name__}: {exc}"})


async def _seat(conn: Connection, side: Side, i: int, plan: Plan, names: list[str]) -> None:
    me = await _join(side, i)
    counter: _Counter | None = None
    try:
        await _publish(me, i, plan.fps)
        counter = _Counter(me, {names[j]: j for j in range(plan.parties) if j != i})
        await _view(me, plan.parties)
        conn.send("ready")
        myself = psutil.Process()
        while (order := await asyncio.to_thread(conn.recv)) != "stop":
            assert order == "count"
            conn.send((dict(counter.frames), _cpu(myself)))
    finally:
        if counter is not None:
            await counter.stop()
        await me.close()


async def _party(plan: Plan, side: Side, names: Sequence[str], media: psutil.Process,
                 ) -> tuple[list[float], float, float]:
    """Everyone sends and sees everyone: fps on each stream; the media plane's and the
    participants' CPU over the window (per cent of one core)."""
    ctx = multiprocessing.get_context("spawn")
    seats: list[tuple[Connection, BaseProcess]] = []
    try:
        for i in range(plan.parties):
            mine, theirs = ctx.Pipe()
            seat = ctx.Process(target=_seat_process, args=(theirs, side, i, plan, list(names)),
                               daemon=True)
            seat.start()
            seats.append((mine, seat))
        for conn, started in seats:
            await answer(conn, started, within=120)
        await asyncio.sleep(plan.warmup_s)
        before = await _counts(seats)
        cpu0, t0 = _cpu(media), time.monotonic()
        await asyncio.sleep(plan.seconds)
        after = await _counts(seats)
        cpu1, t1 = _cpu(media), time.monotonic()
        window = t1 - t0
        fps = [
            (a[0][m] - b[0][m]) / window for a, b in zip(after, before, strict=True)
            for m in a[0]
        ]
        loadgen = sum(a[1] - b[1] for a, b in zip(after, before, strict=True))
        return fps, 100 * (cpu1 - cpu0) / window, 100 * loadgen / window
    finally:
        for conn, _ in seats:
            with contextlib.suppress(OSError):
                conn.send("stop")
        for _, ended in seats:
            await asyncio.to_thread(ended.join, 30)
            if ended.is_alive():
                ended.kill()


async def _counts(seats: Sequence[tuple[Connection, BaseProcess]]
                  ) -> list[tuple[dict[str, int], float]]:
    for conn, _ in seats:
        conn.send("count")
    return [await answer(conn, process, within=30) for conn, process in seats]


async def _phase(plan: Plan, side: Side, names: Sequence[str], media: psutil.Process) -> Phase:
    timing = await _joins(plan, side, names)
    fps, cpu, own = await _party(plan, side, names, media)
    streams = plan.parties * (plan.parties - 1)
    return Phase(side.server, timing, fps, streams, cpu, cpu / streams, own, load_average())


async def _seed(engine: AsyncEngine, count: int) -> tuple[list[str], list[str], str]:
    """Units with a device token each (the participants), and a dispatcher's session."""
    now = datetime.now(UTC)
    names, tokens = [], []
    async with engine.begin() as conn:
        for i in range(count):
            uid = f"V{i:02d}"
            await dispatch_store.insert_unit(conn, Unit(
                id=uid, callsign=f"Video {i}", unit_type="command_vehicle", station_id=None,
                capabilities=frozenset(), crew=2, status=UnitStatus.AVAILABLE,
                status_since=now,
            ))
            tokens.append(await create_device_token(conn, uid, "field_unit",
                                                    valid_for=timedelta(days=1)))
            names.append(f"unit:{uid}")
        user_id = await create_user(conn, "bench-host", new_token(), "dispatcher")
        host = new_token()
        await conn.execute(tables.tokens.insert().values(
            token_hash=token_digest(host), kind="session", user_id=user_id,
            roles=["dispatcher"], last_seen_at=now,
        ))
    return names, tokens, host


async def _consultation(base: str, host: str, names: Sequence[str]) -> int:
    headers = {"Authorization": f"Bearer {host}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        r = await http.post("/api/v1/consultations", json={"title": "bench"})
        r.raise_for_status()
        cid = int(r.json()["consultation"]["id"])
        r = await http.post(f"/api/v1/consultations/{cid}/invitations",
                            json={"units": [n.removeprefix("unit:") for n in names]})
        r.raise_for_status()
    return cid


@contextlib.asynccontextmanager
async def _janus(root: Path) -> AsyncIterator[JanusServer]:
    server = JanusServer(root=root)
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def _ours(settings: Settings, plan: Plan, logs: Path) -> Phase:
    count = max(plan.parties, 2)
    async with scratch_engine(settings) as engine, _janus(logs / "janus") as janus:
        names, tokens, host = await _seed(engine, count)
        port = free_port()
        env = {
            **os.environ,
            "CAD_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "CAD_PORT": str(port),
            "CAD_HOST": "127.0.0.1",
            "CAD_AMI_ENABLED": "false",
            "CAD_JANUS_URL": janus.url,
            "CAD_JANUS_API_SECRET": janus.api_secret(),
        }
        argv = [sys.executable, "-m", "command", "serve", "--no-supervise"]
        health = f"http://127.0.0.1:{port}/api/v1/health"
        async with server_process(argv, env, http_ready(health), logs / "serve.log"):
            cid = await _consultation(f"http://127.0.0.1:{port}", host, names)
            assert janus.process is not None
            media = psutil.Process(janus.process.pid)
            side = Side(OURS, f"ws://127.0.0.1:{port}", tuple(tokens), cid)
            return await _phase(plan, side, names, media)


async def _baseline(plan: Plan, logs: Path) -> Phase:
    port = free_port()
    argv = [sys.executable, "-m", "command.bench.video_baseline", "--port", str(port)]
    names = [f"p{i}" for i in range(max(plan.parties, 2))]
    url = f"ws://127.0.0.1:{port}"
    relay_log = logs / "relay.log"
    async with server_process(argv, dict(os.environ), port_ready(port), relay_log) as relay:
        return await _phase(plan, Side(BASELINE, url, tuple(names)), names, relay)


async def run_benchmark(settings: Settings, plan: Plan) -> Result:
    logs = Path(tempfile.mkdtemp(prefix="cad-bench-video-"))
    ours = await _ours(settings, plan, logs)
    baseline = await _baseline(plan, logs)
    return Result(plan, [ours, baseline])


# -- the command ------------------------------------------------------------------------------

def _range(option: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise InvalidInput(
            f"{option} {value:g} is outside {low:g}..{high:g}", code="cli.option_range",
            option=option, value=value, min=low, max=high,
        )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "video", help="consultations: join time, fps, media CPU per stream, vs an aiortc relay"
    )
    bench.add_argument("--joins", type=int, default=20, help="joins timed to first frame")
    bench.add_argument("--parties", type=int, default=6, help="participants seeing each other")
    bench.add_argument("--seconds", type=float, default=10.0, help="seconds the fps are counted")
    bench.add_argument("--fps", type=float, default=30.0, help="frames a second each one sends")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(handler=bench_cmd)


def _line(p: Phase) -> str:
    return (
        f"  {p.server:<13} join -> first frame: {p.join.line()}\n"
        f"    {p.streams} streams: fps min {min(p.fps):.1f}, p50 {percentile(p.fps, 0.5):.1f}, "
        f"max {max(p.fps):.1f}\n"
        f"    media plane CPU {p.server_cpu_pct:.0f}% of a core, "
        f"{p.cpu_per_stream_pct:.2f}% per forwarded stream; load generator CPU "
        f"{p.loadgen_cpu_pct:.0f}%, load {p.load:.1f}"
    )


def bench_cmd(args: argparse.Namespace, settings: Settings) -> int:
    _range("--joins", args.joins, 1, 500)
    _range("--parties", args.parties, 2, 12)
    _range("--seconds", args.seconds, 1, 600)
    _range("--fps", args.fps, 1, 60)
    ensure_embedded_running(settings)
    drop_on_sigterm()
    plan = Plan(joins=args.joins, parties=args.parties, seconds=args.seconds, fps=args.fps)
    before = load_average()
    result = asyncio.run(run_benchmark(settings, plan))
    if args.json:
        figures: dict[str, Any] = asdict(result)
        figures["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(json.dumps(figures, indent=2))
        return 0
    ours, base = result.phases
    ratio = (ours.cpu_per_stream_pct / base.cpu_per_stream_pct
             if base.cpu_per_stream_pct > 0 else float("nan"))
    # Per frame delivered too: a relay that delivers fewer frames spends less per stream.
    per_frame = [p.server_cpu_pct / sum(p.fps) if sum(p.fps) > 0 else float("nan")
                 for p in (ours, base)]
    print(
        f"video: {plan.joins} joins, a consultation of {plan.parties} for {plan.seconds:g} s, "
        f"each sending {plan.fps:g} fps "
        f"(load average {before:.1f} -> {load_average():.1f})\n"
        + "\n".join(_line(p) for p in result.phases)
        + f"\nmedia CPU per forwarded stream, ours / relay: {ratio:.3f}; "
        f"per forwarded frame: {per_frame[0] / per_frame[1]:.3f}"
    )
    return 0
