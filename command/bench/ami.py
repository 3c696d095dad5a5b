"""``cad bench ami``: the Asterisk bridge under load.

The switch runs in a separate process: the AMI simulator, or with ``--asterisk`` the real
Asterisk of the shared build driven by real calls (``command/bench/ami_asterisk.py``). In this
process (one core: one event loop) run the real bridge, the call-taking service writing to a
throwaway PostgreSQL cluster and the web app; the consoles, one websocket per seat, run in a
third. It reports the AMI events per second the bridge applied, the p99 time from
``AgentCalled`` read off the socket to the screen pop received on the console websocket, the
calls recorded against the calls started, and reconnect plus full resync time with live calls.
``--rates`` steps the call rate up and reports the highest one sustained.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from command.bench.ami_asterisk import asterisk_process
from command.bench.polling import until
from command.bench.stats import percentile
from command.settings import Settings
from telephony.simulator import AmiSimulator


def _p99(values: Sequence[float]) -> float | None:
    return percentile(values, 0.99) if values else None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser("ami", help="AMI bridge: events/s, screen-pop p99, resync time")
    bench.add_argument("--seconds", type=float, default=20.0, help="measured load phase")
    bench.add_argument("--calls-per-second", type=_positive, default=80.0)
    bench.add_argument("--rates", type=_rates, default=None,
                       help="comma-separated call rates, stepped up until one is not sustained")
    bench.add_argument("--seats", type=int, default=None,
                       help="seats signed in (default: 60, or enough for the rate on --asterisk)")
    bench.add_argument("--speed", type=_positive, default=10.0,
                       help="simulated time acceleration (simulator only)")
    bench.add_argument("--live-calls", type=int, default=100, help="calls up during the resync")
    bench.add_argument("--asterisk", action="store_true",
                       help="the real Asterisk of the shared build instead of the simulator")
    bench.add_argument("--talk", type=_positive, default=2.0,
                       help="mean talk time in seconds of a call on --asterisk")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(handler=bench_ami_cmd)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 10_000:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 10000: {text}")
    return value


def _rates(text: str) -> list[float]:
    rates = [_positive(part) for part in text.split(",") if part.strip()]
    if not rates:
        raise argparse.ArgumentTypeError("no rate given")
    return sorted(rates)


# ------------------------------------------------------------------ simulator process


def _sim_process(conn: Connection, seats: int, speed: float) -> None:
    """The simulator in its own process, driven over a pipe."""

    async def main() -> None:
        sim = AmiSimulator(speed=speed, seed=7)
        port = await sim.start()
        for n in range(seats):
            sim.add_member(f"Local/{2000 + n}@agents", f"Seat {2000 + n}")
        conn.send(port)
        loop = asyncio.get_running_loop()
        flow: asyncio.Task[int] | None = None
        while True:
            cmd, arg = await loop.run_in_executor(None, conn.recv)
            if cmd == "flow":
                sim.events_sent = 0
                flow = asyncio.create_task(
                    sim.flow(arg["rate"], arg["seconds"], abandon_ratio=0.1, talk=4.0)
                )
                conn.send("started")
            elif cmd == "flow_done":
                started = await flow if flow is not None else 0
                conn.send({"calls": started, "events": sim.events_sent})
            elif cmd == "calls":
                for n in range(arg["n"]):
                    sim.originate_caller(
                        f"+4237790{n:03d}", f"Caller {n}", hold_for=3600, talk=3600
                    )
                conn.send("ok")
            elif cmd == "live":
                conn.send(sum(1 for c in sim.calls.values() if not c.done))
            elif cmd == "drop":
                await sim.drop_clients()
                conn.send(time.monotonic())
            elif cmd == "stop":
                await sim.stop()
                conn.send("stopped")
                return

    asyncio.run(main())


@dataclass
class BenchResult:
    events_offered: int
    events_applied: int
    seconds: float
    cpu_seconds: float
    events_per_second: float
    overflows: int
    pops: int
    pop_p50_ms: float | None
    pop_p99_ms: float | None
    pop_max_ms: float | None
    sent_p50_ms: float | None
    sent_p99_ms: float | None
    sent_max_ms: float | None
    live_calls: int
    resync_seconds: float | None
    recovered_calls: int
    pop_breakdown_ms: dict[str, tuple[float, float]]
    history_pending: int
    history_p50_ms: float | None
    history_p99_ms: float | None
    writer_batches: int
    writer_seconds: float
    load_average: tuple[float, float, float]
    switch: str
    rate: float
    calls_started: int
    calls_recorded: int
    switch_report: dict[str, Any]

    def sustained(self) -> tuple[bool, str]:
        """Whether the switch and the bridge kept up with the rate, and if not, why."""
        report = self.switch_report
        if self.calls_recorded < self.calls_started:
            return False, f"{self.calls_started - self.calls_recorded} calls not recorded"
        if self.switch == "asterisk":
            late = report["offered_seconds"] - report["planned_seconds"]
            if report["refused"]:
                return False, f"Asterisk refused {report['refused']} originations"
            if report["joined"] < self.calls_started:
                return False, f"{self.calls_started - report['joined']} calls never queued"
            if report["answered"] + report["abandoned"] < report["joined"]:
                return False, "calls left in the queue unanswered"
            if late > 1.0:
                return False, f"originations fell {late:.1f} s behind"
        if self.pop_p99_ms is None or self.pop_p99_ms >= 50:
            return False, f"screen pop p99 {_ms(self.pop_p99_ms)} (goal < 50 ms)"
        if self.history_pending:
            return False, f"{self.history_pending} pops without history"
        return True, "every call recorded, pop p99 under 50 ms"

    def lines(self) -> list[str]:
        ok, why = self.sustained()
        head = [
            f"switch: {self.switch}, {self.rate:g} calls/s asked; calls started "
            f"{self.calls_started}, recorded by the bridge {self.calls_recorded}; "
            f"sustained: {'yes' if ok else 'no'} ({why})",
        ]
        if self.switch == "asterisk":
            r = self.switch_report
            head.append(
                f"Asterisk: {r['joined']} queued, {r['answered']} answered, "
                f"{r['abandoned']} abandoned, {r['refused']} refused; originated in "
                f"{r['offered_seconds']:.1f} s; Asterisk CPU {r['asterisk_cpu_seconds']:.1f} s "
                f"in {r['seconds']:.1f} s"
            )
        return [
            *head,
            f"events: {self.events_applied} applied of {self.events_offered} sent in "
            f"{self.seconds:.1f} s -> {self.events_per_second:.0f} events/s "
            f"(process CPU {self.cpu_seconds:.1f} s, overflows {self.overflows})",
            f"screen pops: {self.pops}; AgentCalled read -> pop sent on the console websocket: "
            f"p50 {_ms(self.sent_p50_ms)}, p99 {_ms(self.sent_p99_ms)}, "
            f"max {_ms(self.sent_max_ms)}",
            f"  ... -> pop received by the console process: p50 {_ms(self.pop_p50_ms)}, "
            f"p99 {_ms(self.pop_p99_ms)}, max {_ms(self.pop_max_ms)}",
            f"reconnect + full resync with {self.live_calls} live calls: "
            f"{_s(self.resync_seconds)}, {self.recovered_calls} calls tracked after",
            f"history in the pop: {self.pops - self.history_pending} of {self.pops}; "
            f"complete pop (history included or followed) p50 {_ms(self.history_p50_ms)}, "
            f"p99 {_ms(self.history_p99_ms)}",
            "pop stages p50/p99 ms: "
            + ", ".join(f"{k} {v[0]:.1f}/{v[1]:.1f}" for k, v in self.pop_breakdown_ms.items()),
            f"writer: {self.writer_batches} transactions, {self.writer_seconds:.1f} s; "
            "load average at the end: " + " ".join(f"{x:.2f}" for x in self.load_average),
        ]


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


@dataclass(frozen=True)
class Switch:
    """Which switch the bench drives, and how."""

    asterisk: bool = False
    speed: float = 10.0  # the simulator's time acceleration
    talk: float = 2.0  # mean talk time of a real call, seconds

    def seats_for(self, rate: float) -> int:
        if not self.asterisk:
            return 60
        # a seat is busy for the ring and the talk; half as many again for the queue's rotation
        return max(10, int(rate * (1.0 + self.talk * 1.5) * 1.5) + 1)


def bench_ami_cmd(args: argparse.Namespace, settings: Settings) -> int:
    switch = Switch(args.asterisk, args.speed, args.talk)
    if switch.asterisk and not (settings.shared_dir / "asterisk").is_dir():
        print(f"cad bench ami --asterisk: no Asterisk build in {settings.shared_dir / 'asterisk'}"
              " (set CAD_SHARED_DIR)")
        return 2
    results: list[BenchResult] = []
    for rate in args.rates or [args.calls_per_second]:
        seats = args.seats or switch.seats_for(rate)
        result = asyncio.run(
            run_bench(args.seconds, rate, seats, switch, args.live_calls, settings)
        )
        results.append(result)
        if args.json:
            print(json.dumps(result.__dict__, indent=2))
        else:
            for line in result.lines():
                print(line)
        if not result.sustained()[0]:
            break
    if args.rates and not args.json:
        kept = [r.rate for r in results if r.sustained()[0]]
        print(f"highest rate sustained: {kept[-1]:g} calls/s" if kept
              else "no rate sustained")
    return 0


def _console_process(conn: Connection, url: str, token: str, seats: list[str]) -> None:
    """Console websockets, one per seat, in their own process: note when each message
    arrives, hand the notes back on ``stop``."""
    import websockets

    async def main() -> None:
        notes: list[tuple[float, dict[str, Any]]] = []
        sockets = []
        for seat in seats:
            ws = await websockets.connect(f"{url}?seat={seat}&token={token}", max_queue=None)
            await ws.recv()  # hello
            sockets.append(ws)

        async def listen(ws: Any) -> None:
            async for raw in ws:
                got = time.monotonic()
                message = json.loads(raw)
                if "_arrived" in message:
                    notes.append(
                        (
                            got,
                            {
                                k: message.get(k)
                                for k in ("type", "_arrived", "_trace", "history_pending")
                            },
                        )
                    )

        tasks = [asyncio.create_task(listen(ws)) for ws in sockets]
        conn.send("ready")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)
        for task in tasks:
            task.cancel()
        for ws in sockets:
            await ws.close()
        conn.send(notes)

    asyncio.run(main())


def _pop_figures(
    notes: list[tuple[float, dict[str, Any]]],
) -> tuple[list[float], list[float], list[float], dict[str, list[float]]]:
    latencies: list[float] = []
    complete: list[float] = []
    pending: list[float] = []
    segments: dict[str, list[float]] = {}
    for got, message in notes:
        arrived = float(message["_arrived"])
        waited = (got - arrived) * 1000
        if message.get("type") == "screen_pop":
            latencies.append(waited)
            (pending if message.get("history_pending") else complete).append(waited)
            trace = message.get("_trace") or {}
            t_prev = arrived
            for name in ("noticed", "built"):
                if name in trace:
                    segments.setdefault(name, []).append((float(trace[name]) - t_prev) * 1000)
                    t_prev = float(trace[name])
            segments.setdefault("sent", []).append((got - t_prev) * 1000)
        elif message.get("type") == "screen_pop_history":
            complete.append(waited)
    latencies.sort()
    return latencies, complete, pending, segments


async def _request(conn: Connection, cmd: str, arg: Any = None) -> Any:
    loop = asyncio.get_running_loop()
    conn.send((cmd, arg))
    return await loop.run_in_executor(None, conn.recv)


async def run_bench(
    seconds: float, rate: float, seats: int, switch: Switch, live_calls: int, settings: Settings
) -> BenchResult:
    import httpx
    import sqlalchemy as sa
    import uvicorn
    from sqlalchemy.ext.asyncio import create_async_engine

    from command import bootstrap
    from command.app import create_app
    from command.auth import second_factor, totp
    from command.auth import service as auth
    from ops import migrate
    from ops.pgcluster import Cluster, free_port
    from telephony.tables import calls

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    speed = switch.speed if not switch.asterisk else 1.0
    if switch.asterisk:
        proc = ctx.Process(
            target=asterisk_process,
            args=(child, str(settings.shared_dir.resolve()), seats + live_calls, switch.talk),
            daemon=True,
        )
    else:
        proc = ctx.Process(
            target=_sim_process, args=(child, seats + live_calls, speed), daemon=True
        )
    proc.start()
    tmp = Path(tempfile.mkdtemp(prefix="cad-bench-ami-"))
    cluster = Cluster(root=tmp / "pg", port=free_port())
    await asyncio.to_thread(cluster.init)
    await asyncio.to_thread(cluster.start)
    try:
        sim_port = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
        if not isinstance(sim_port, int):
            raise RuntimeError(str(sim_port))
        url = cluster.url("postgres")
        engine = create_async_engine(url)
        await migrate.upgrade(engine)
        # The supervisor signs in with a second factor, as the default policy has it.
        secret = totp.new_secret()
        async with engine.begin() as conn:
            await auth.create_user(conn, "bench", "bench password 1", "supervisor")
            await second_factor.enrolled(conn, "bench", secret, datetime.now(UTC))
        await engine.dispose()
        port = free_port()
        cfg = settings.model_copy(
            update={
                "database_url": url,
                "port": port,
                "ami_port": sim_port,
                "ami_host": "127.0.0.1",
                "ami_username": "cad",
                "ami_secret": "cadsecret",
                "ami_queues": "emergency",
                "ami_enabled": True,
            }
        )
        container = await bootstrap.start(cfg)
        svc = container.telephony
        app = create_app(cfg, container)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        serve = asyncio.create_task(server.serve())
        try:
            await until(lambda: bool(server.started), 30, 0.02)
            await svc.bridge.wait_ready(10)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                r = await http.post(
                    "/api/v1/auth/login",
                    json={
                        "username": "bench",
                        "password": "bench password 1",
                        "totp": totp.code_at(secret, datetime.now(UTC)),
                    },
                )
                r.raise_for_status()
                token = r.json()["token"]
            # the consoles run in their own process, as they would on their own machines;
            # CLOCK_MONOTONIC is the same for every process on the host
            con_parent, con_child = ctx.Pipe()
            consoles = ctx.Process(
                target=_console_process,
                args=(
                    con_child,
                    f"ws://127.0.0.1:{port}/api/v1/telephony/ws",
                    token,
                    # every seat signed in, those that take the resync's calls too
                    [f"Local/{2000 + n}@agents" for n in range(seats + live_calls)],
                ),
                daemon=True,
            )
            consoles.start()
            await asyncio.get_running_loop().run_in_executor(None, con_parent.recv)  # ready
            svc.bridge.offer_arrivals = {}
            svc.sent_latencies = []
            stats = svc.bridge.stats
            applied0, overflows0, received0 = stats.applied, stats.overflows, stats.received
            extra0 = dict(stats.extra)
            t0, cpu0 = time.monotonic(), time.process_time()
            await _request(parent, "flow", {"rate": rate, "seconds": seconds})
            sent = await _request(parent, "flow_done")
            # let the bridge finish what was sent
            await until(lambda: stats.received - received0 >= sent["events"] * 0.999, 30, 0.02)
            await until(lambda: svc.bridge.backlog == 0, 30, 0.005)
            await svc.bridge.flush(30)
            elapsed = time.monotonic() - t0
            cpu = time.process_time() - cpu0
            applied = stats.applied - applied0
            overflows = stats.overflows - overflows0
            svc.bridge.offer_arrivals = None
            sent_notes, svc.sent_latencies = svc.sent_latencies or [], None
            writer = {
                k: stats.extra.get(k, 0.0) - extra0.get(k, 0.0) for k in ("batches", "write_s")
            }
            async with container.engine.connect() as conn:
                recorded = await conn.scalar(
                    sa.select(sa.func.count()).select_from(calls).where(calls.c.state == "ended")
                )
            if not switch.asterisk:
                await asyncio.sleep(2.0 / speed * 10)  # calls in progress finish
            # reconnect + resync with live calls
            await _request(parent, "calls", {"n": live_calls})
            for _ in range(400):
                if (
                    await _request(parent, "live") >= live_calls
                    and len(svc.bridge.tracker.live_calls()) >= live_calls
                ):
                    break
                await asyncio.sleep(0.05)
            resync = None
            dropped_at = await _request(parent, "drop")
            await until(lambda: not svc.bridge.connected, 10, 0.001)
            await until(lambda: svc.bridge.connected, 30, 0.001)
            resync = time.monotonic() - dropped_at
            tracked = len(svc.bridge.tracker.live_calls())
            received = await _request(con_parent, "stop")
            consoles.join(5)
        finally:
            server.should_exit = True
            await serve
            await bootstrap.stop(container)
        latencies, complete, pending_pops, segments = _pop_figures(received)
        sent_ms = [ms for kind, ms in sent_notes if kind.startswith("pop")]
        return BenchResult(
            events_offered=sent["events"],
            events_applied=applied,
            seconds=elapsed,
            cpu_seconds=cpu,
            events_per_second=applied / elapsed if elapsed else 0.0,
            overflows=overflows,
            pops=len(latencies),
            pop_p50_ms=statistics.median(latencies) if latencies else None,
            pop_p99_ms=_p99(latencies),
            pop_max_ms=latencies[-1] if latencies else None,
            sent_p50_ms=statistics.median(sent_ms) if sent_ms else None,
            sent_p99_ms=_p99(sent_ms),
            sent_max_ms=max(sent_ms) if sent_ms else None,
            live_calls=live_calls,
            resync_seconds=resync,
            recovered_calls=tracked,
            pop_breakdown_ms={
                k: (round(statistics.median(v), 1), round(_p99(v) or 0, 1))
                for k, v in segments.items()
            },
            history_pending=len(pending_pops),
            history_p50_ms=statistics.median(complete) if complete else None,
            history_p99_ms=_p99(complete),
            writer_batches=int(writer["batches"]),
            writer_seconds=writer["write_s"],
            load_average=os.getloadavg(),
            switch="asterisk" if switch.asterisk else "simulator",
            rate=rate,
            calls_started=int(sent["calls"]),
            calls_recorded=int(recorded or 0),
            switch_report={**sent, "planned_seconds": seconds},
        )
    finally:
        await _request(parent, "stop")
        proc.join(5)
        await asyncio.to_thread(cluster.destroy)
