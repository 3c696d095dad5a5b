"""The load of ``cad bench avl``: simulated units and consoles over real websockets, and what
they measure.

A ``Target`` says how to reach a server: the tracking service (units on the terminal
websocket, each position answered with an ``ack``; consoles on the tracking websocket, which
subscribe) or the bare broadcast server (units and consoles on plain paths, no answers). The
same ``Fleet`` of units and the same consoles run against both.

Each position carries its send time as its device time (epoch milliseconds, the clock of this
machine, which the server shares), so a console's receive time minus the position's time is
the send-to-receive latency. Latencies are sampled on every ``sample``-th unit (all consoles),
to keep the load generator's own work small; every delivered position is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from command.bench.workers import answer

log = logging.getLogger(__name__)

#: where the simulated fleet drives: a grid around Vaduz, a few metres a second
ORIGIN = (9.45, 47.05)
SPREAD_DEG = 0.2


@dataclass(frozen=True)
class Target:
    name: str
    unit_url: Callable[[str], str]  # unit id -> its websocket URL
    console_url: str
    #: the message a console sends first (None: the server sends it everything)
    subscribe: str | None
    #: whether the server answers each position (ack or error)
    answers: bool
    #: whether a unit's connection opens with frames to read first (hello, assignment)
    greeting: int


@dataclass
class Window:
    """The measured interval of a phase (wall clock, seconds)."""

    start: float = float("inf")
    end: float = float("inf")

    def holds(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass
class Tally:
    """What one phase counted inside its window."""

    window: Window = field(default_factory=Window)
    sent: int = 0
    accepted: int = 0
    refused: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    delivered: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    #: the server's part: from taking a position in to the console (ours only)
    fanout_ms: list[float] = field(default_factory=list)
    #: unit connections the server closed during the phase
    lost: int = 0


def _unit_index(unit_id: str) -> int:
    return int(unit_id[1:])


def unit_id(i: int) -> str:
    return f"U{i:05d}"


class _Unit:
    def __init__(self, index: int, ws: ClientConnection) -> None:
        self.index = index
        self.id = unit_id(index)
        self.ws = ws
        self.n = 0
        side = 70
        self.lon = ORIGIN[0] + SPREAD_DEG * (index % side) / side
        self.lat = ORIGIN[1] + SPREAD_DEG * (index // side % side) / side
        self.answered = asyncio.Event()

    def frame(self) -> str:
        self.n += 1
        self.lon += 0.00003  # about 2 m
        return json.dumps(
            {
                "v": 1,
                "type": "position",
                "key": f"{self.id}-{self.n}",
                "position": {
                    "lat": round(self.lat, 7),
                    "lon": round(self.lon, 7),
                    "time": int(time.time() * 1000),
                    "speed": 0.5,
                    "heading": 90,
                },
            },
            separators=(",", ":"),
        )


class Fleet:
    """``units`` open unit connections, driven phase by phase."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.units: list[_Unit] = []
        self._readers: list[asyncio.Task[None]] = []
        self.tally = Tally()

    async def open(self, count: int, parallel: int = 50) -> None:
        gate = asyncio.Semaphore(parallel)

        async def one(i: int) -> _Unit:
            async with gate:
                ws = await websockets.connect(
                    self.target.unit_url(unit_id(i)), open_timeout=60, max_size=2**22
                )
                for _ in range(self.target.greeting):
                    await asyncio.wait_for(ws.recv(), 60)
                return _Unit(i, ws)

        self.units = list(await asyncio.gather(*(one(i) for i in range(count))))
        if self.target.answers:
            self._readers = [asyncio.create_task(self._read(u)) for u in self.units]

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
        for task in self._readers:
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await task
        await asyncio.gather(*(u.ws.close() for u in self.units), return_exceptions=True)

    async def _read(self, unit: _Unit) -> None:
        async for raw in unit.ws:
            data = json.loads(raw)
            kind = data.get("type")
            if kind not in ("ack", "error"):
                continue
            tally = self.tally
            if tally.window.holds(time.time()):
                if kind == "ack":
                    tally.accepted += int(data.get("accepted", 1))
                else:
                    tally.refused += 1
                    code = str(data.get("code"))
                    tally.refusals[code] = tally.refusals.get(code, 0) + 1
            unit.answered.set()

    async def steady(self, interval: float, until: float) -> None:
        """Every unit sends a position every ``interval`` seconds, spread evenly, until
        ``until`` (wall clock)."""

        async def drive(unit: _Unit) -> None:
            loop = asyncio.get_running_loop()
            offset = interval * unit.index / len(self.units)
            next_at = loop.time() + offset
            while True:
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                if time.time() >= until:
                    return
                try:
                    await unit.ws.send(unit.frame())
                except websockets.ConnectionClosed:
                    self.tally.lost += 1
                    return
                if self.tally.window.holds(time.time()):
                    self.tally.sent += 1
                next_at += interval

        await asyncio.gather(*(drive(u) for u in self.units))

    async def flood(self, until: float, per_unit_hz: float) -> None:
        """Each unit sends its next position as soon as the last is answered (at most
        ``per_unit_hz`` a second each, under the terminal's rate limit), until ``until``."""

        async def drive(unit: _Unit) -> None:
            loop = asyncio.get_running_loop()
            gap = 1.0 / per_unit_hz
            while time.time() < until:
                started = loop.time()
                unit.answered.clear()
                try:
                    await unit.ws.send(unit.frame())
                except websockets.ConnectionClosed:
                    self.tally.lost += 1
                    return
                if self.tally.window.holds(time.time()):
                    self.tally.sent += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(unit.answered.wait(), 30)
                await asyncio.sleep(max(0.0, started + gap - loop.time()))

        await asyncio.gather(*(drive(u) for u in self.units))


class Consoles:
    """``live`` consoles that read everything and ``stalled`` ones that never read. Every
    ``measure_every``-th live console parses what it receives and times the sampled units'
    positions; the others read every frame too but only count its positions (parsing 200,000
    positions a second would take the load generator's core from the server it measures)."""

    def __init__(self, target: Target, tally: Tally, sample: int, measure_every: int = 1) -> None:
        self.target = target
        self.tally = tally
        self.sample = sample
        self.measure_every = measure_every
        self._tasks: list[asyncio.Task[None]] = []
        self._stalled: list[ClientConnection] = []
        self._times: dict[str, float] = {}

    async def open(self, live: int, stalled: int) -> None:
        ready: list[asyncio.Future[None]] = []
        loop = asyncio.get_running_loop()
        for i in range(live):
            fut: asyncio.Future[None] = loop.create_future()
            ready.append(fut)
            measures = i % self.measure_every == 0
            self._tasks.append(asyncio.create_task(self._live(fut, measures)))
        for _ in range(stalled):
            ws = await websockets.connect(
                self.target.console_url, open_timeout=60, max_size=None, max_queue=1
            )
            if self.target.subscribe is not None:
                await ws.send(self.target.subscribe)
            self._stalled.append(ws)
        await asyncio.gather(*ready)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await task
        for ws in self._stalled:
            ws.transport.abort()  # it reads nothing, so it cannot close politely

    def _ms(self, stamp: Any) -> float:
        if isinstance(stamp, int | float):
            return float(stamp)
        text = str(stamp)
        ms = self._times.get(text)
        if ms is None:
            ms = datetime.fromisoformat(text).timestamp() * 1000
            if len(self._times) > 200_000:
                self._times.clear()
            self._times[text] = ms
        return ms

    async def _live(self, ready: asyncio.Future[None], measures: bool = True) -> None:
        try:
            ws = await websockets.connect(self.target.console_url, open_timeout=60, max_size=None)
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            ready.set_exception(exc)
            return
        async with ws:
            if self.target.subscribe is not None:
                await ws.send(self.target.subscribe)
            ready.set_result(None)
            tally, sample = self.tally, self.sample
            async for raw in ws:
                now = time.time()
                if not tally.window.holds(now):
                    continue
                if not measures:
                    tally.delivered += _positions_in(raw)
                    continue
                data = json.loads(raw)
                kind = data.get("type")
                if kind == "positions":
                    positions = data["positions"]
                    tally.delivered += len(positions)
                    for p in positions:
                        if _unit_index(p["unit_id"]) % sample == 0:
                            tally.latencies_ms.append(now * 1000 - self._ms(p["time"]))
                            tally.fanout_ms.append(now * 1000 - self._ms(p["received"]))
                elif kind == "position":
                    tally.delivered += 1
                    if int(data["key"][1:6]) % sample == 0:
                        tally.latencies_ms.append(now * 1000 - data["position"]["time"])


def _positions_in(raw: str | bytes) -> int:
    """How many positions a frame carries, without parsing it: ours name each ``unit_id``; the
    bare server relays one unit frame (``"type":"position"``) at a time."""
    text = raw if isinstance(raw, str) else raw.decode()
    return text.count('"unit_id"') or int(text.startswith('{"v":1,"type":"position"'))


# -- consoles in processes of their own --------------------------------------------------------


def _console_process(conn: Connection, url: str, subscribe: str | None, count: int,
                     sample: int, measure_every: int) -> None:
    """``count`` live consoles in a process of their own (spawned), counting inside the window
    the benchmark sends, and answering ``report`` with what they counted."""
    try:
        asyncio.run(_console_worker(conn, url, subscribe, count, sample, measure_every))
    except Exception as exc:  # reported to the benchmark, which stops
        conn.send({"failed": f"{type(exc).__name__}: {exc}"})


async def _console_worker(conn: Connection, url: str, subscribe: str | None, count: int,
                          sample: int, measure_every: int) -> None:
    tally = Tally()
    target = Target("consoles", lambda _: "", url, subscribe, answers=False, greeting=0)
    consoles = Consoles(target, tally, sample, measure_every)
    await consoles.open(count, 0)
    try:
        conn.send("ready")
        tally.window.start, tally.window.end = await asyncio.to_thread(conn.recv)
        order = await asyncio.to_thread(conn.recv)
        assert order == "report", order
        conn.send((tally.delivered, tally.latencies_ms, tally.fanout_ms))
    finally:
        await consoles.close()


class ConsoleProcesses:
    """Live consoles spread over ``processes`` processes, so that reading and parsing what
    they receive (200,000 positions a second at 5,000 units) is not one core's work."""

    def __init__(self, target: Target, sample: int, processes: int,
                 measure_every: int = 1) -> None:
        self.target = target
        self.sample = sample
        self.processes = processes
        self.measure_every = measure_every
        self._workers: list[tuple[Connection, BaseProcess]] = []

    @property
    def pids(self) -> list[int]:
        return [p.pid for _, p in self._workers if p.pid is not None]

    async def open(self, live: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        shares = [live // self.processes + (i < live % self.processes)
                  for i in range(self.processes)]
        for count in shares:
            if count == 0:
                continue
            mine, theirs = ctx.Pipe()
            worker = ctx.Process(
                target=_console_process,
                args=(theirs, self.target.console_url, self.target.subscribe, count,
                      self.sample, self.measure_every),
                daemon=True,
            )
            worker.start()
            self._workers.append((mine, worker))
        for conn, started in self._workers:
            await answer(conn, started, within=120)

    def window(self, start: float, end: float) -> None:
        for conn, _ in self._workers:
            conn.send((start, end))

    async def count_into(self, tally: Tally) -> None:
        """What every process counted, added to ``tally``."""
        for conn, _ in self._workers:
            conn.send("report")
        for conn, worker in self._workers:
            delivered, latencies, fanout = await answer(conn, worker, within=60)
            tally.delivered += delivered
            tally.latencies_ms.extend(latencies)
            tally.fanout_ms.extend(fanout)

    async def close(self) -> None:
        for _, worker in self._workers:
            await asyncio.to_thread(worker.join, 30)
            if worker.is_alive():
                worker.kill()
        self._workers.clear()
