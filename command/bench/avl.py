"""``cad bench avl``: live positions from units to consoles, against a bare broadcast server.

The tracking service runs as ``cad serve`` in a process of its own, on a scratch database with
``--units`` units and a device token each; this process is the load generator. ``--units``
simulated units send a position every ``--interval`` seconds over the unit terminal websocket
(each validated, stored, answered), ``--consoles`` consoles watch every unit over the tracking
websocket. Then the same units and consoles run against the baseline
(:mod:`command.bench.avl_baseline`, its own process: every frame from a unit rebroadcast as it
is to every console; no validation, storage, coalescing or pacing). For both, in one run:

- positions per second sent, accepted (acknowledged) and delivered to consoles;
- send -> receive latency p50/p99 at the consoles;
- the server's CPU (of one core) and peak RSS (psutil on its process), the database's CPU (the
  cluster's processes, ours only: the baseline stores nothing), and the load generator's CPU
  (when it nears a full core, the figures measure it, not the server);
- with ``--stall K``: the same phase with K more consoles that stop reading, and how much the
  live consoles' p99 rose;
- ingest alone (ours): no consoles, every unit sending as soon as its last position is
  answered (at most ``--ingest-hz`` a second each, under the terminal rate limit of 20), for
  the sustained accepted positions per second.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command import tables
from command.auth.passwords import new_token, token_digest
from command.auth.service import create_device_token, create_user
from command.bench.avl_load import ConsoleProcesses, Consoles, Fleet, Tally, Target, unit_id
from command.bench.collector import frozen_heap
from command.bench.scratch import drop_on_sigterm, scratch_engine
from command.bench.servers import http_ready, port_ready, server_process
from command.bench.stats import Timing, load_average
from command.cli.common import ensure_embedded_running
from command.errors import InvalidInput
from command.settings import Settings
from dispatch import store as dispatch_store
from dispatch.units import Unit, UnitStatus
from ops.pgcluster import free_port

OURS = "tracking service"
BARE = "bare broadcast"


@dataclass(frozen=True)
class Phase:
    """One measured phase against one server."""

    server: str
    phase: str
    consoles: int
    stalled: int
    seconds: float
    sent_per_s: float
    accepted_per_s: float | None
    delivered_per_s: float
    #: delivered over (accepted or sent) x live consoles: 1.0 is every position to every console
    delivered_share: float | None
    latency: Timing | None
    #: from the server taking a position in to the console receiving it (ours only)
    fanout: Timing | None
    server_cpu_pct: float
    server_rss_mib: float
    database_cpu_pct: float | None
    loadgen_cpu_pct: float
    refusals: dict[str, int]
    #: unit connections the server closed during the phase
    lost: int
    load: float


@dataclass(frozen=True)
class Result:
    units: int
    interval: float
    consoles: int
    stall: int
    rate_hz: float
    phases: list[Phase]


class _Meter:
    """CPU and peak RSS of the processes of one phase, sampled every second."""

    def __init__(self, server: psutil.Process, database: psutil.Process | None,
                 helpers: Sequence[int] = ()) -> None:
        self.server = server
        self.database = database
        self.me = psutil.Process()
        #: the load generator's other processes (consoles), counted with it
        self.helpers = [psutil.Process(pid) for pid in helpers]
        self.peak_rss = 0
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def _cpu(proc: psutil.Process | None, tree: bool = False) -> dict[int, float]:
        """CPU seconds so far of ``proc`` (and its children), by process id."""
        if proc is None:
            return {}
        procs = [proc, *proc.children(recursive=True)] if tree else [proc]
        seconds: dict[int, float] = {}
        for p in procs:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                seconds[p.pid] = t.user + t.system
        return seconds

    @staticmethod
    def _spent(before: dict[int, float], after: dict[int, float]) -> float:
        # Processes that ended meanwhile (database backends) are missed: a lower bound.
        return sum(s - before.get(pid, 0.0) for pid, s in after.items())

    def _loadgen(self) -> dict[int, float]:
        seconds = self._cpu(self.me)
        for helper in self.helpers:
            seconds |= self._cpu(helper)
        return seconds

    def start(self) -> None:
        self._at = time.monotonic()
        self._server0 = self._cpu(self.server)
        self._db0 = self._cpu(self.database, tree=True)
        self._me0 = self._loadgen()
        self._task = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            with contextlib.suppress(psutil.Error):
                self.peak_rss = max(self.peak_rss, self.server.memory_info().rss)
            await asyncio.sleep(1.0)

    def stop(self) -> tuple[float, float, float | None, float]:
        """Server CPU %, server peak RSS MiB, database CPU % (None: not measured), own CPU %."""
        if self._task is not None:
            self._task.cancel()
        wall = time.monotonic() - self._at
        server = self._spent(self._server0, self._cpu(self.server)) / wall * 100
        db = (
            None
            if self.database is None
            else self._spent(self._db0, self._cpu(self.database, tree=True)) / wall * 100
        )
        me = self._spent(self._me0, self._loadgen()) / wall * 100
        with contextlib.suppress(psutil.Error):
            self.peak_rss = max(self.peak_rss, self.server.memory_info().rss)
        return server, self.peak_rss / 2**20, db, me


async def _seed(engine: AsyncEngine, units: int) -> tuple[dict[str, str], str]:
    """The units, a device token each, and a console token."""
    now = datetime.now(UTC)
    tokens: dict[str, str] = {}
    async with engine.begin() as conn:
        for i in range(units):
            uid = unit_id(i)
            await dispatch_store.insert_unit(
                conn,
                Unit(
                    id=uid,
                    callsign=f"Bench {i}",
                    unit_type="engine",
                    station_id=None,
                    capabilities=frozenset(),
                    crew=2,
                    status=UnitStatus.AVAILABLE,
                    status_since=now,
                ),
            )
            tokens[uid] = await create_device_token(
                conn, uid, "field_unit", valid_for=timedelta(days=1)
            )
        # The consoles watch as a signed-in dispatcher would (a device token carries only
        # device roles).
        user_id = await create_user(conn, "bench-console", new_token(), "dispatcher")
        console = new_token()
        await conn.execute(
            tables.tokens.insert().values(
                token_hash=token_digest(console),
                kind="session",
                user_id=user_id,
                roles=["dispatcher"],
                last_seen_at=now,
            )
        )
    return tokens, console


async def _database_process(engine: AsyncEngine) -> psutil.Process | None:
    """The cluster's postmaster, when it runs on this machine (its children are the backends):
    the parent of this connection's backend, which any role may ask for."""
    async with engine.connect() as conn:
        backend = await conn.scalar(text("SELECT pg_backend_pid()"))
    try:
        return psutil.Process(int(backend)).parent()
    except (OSError, ValueError, TypeError, psutil.Error):
        return None


@dataclass(frozen=True)
class Plan:
    units: int
    interval: float
    consoles: int
    stall: int
    duration: float
    warmup: float
    ingest_seconds: float
    sample: int
    #: the most positions a second each unit sends in the ingest phase
    ingest_hz: float = 19.0
    #: the bare server compresses its frames (websockets' default; cad serve does not)
    bare_compression: bool = True
    #: processes the live consoles run in (1: the benchmark's own)
    console_processes: int = 1
    #: every n-th live console times what it receives (the others count it)
    measure_every: int = 1
    #: steady and stalled phases run this many times each, alternating, so that a drift of the
    #: machine's load falls on both alike; the summary compares their medians
    rounds: int = 1


async def _steady(
    server: str,
    fleet: Fleet,
    plan: Plan,
    stalled: int,
    server_proc: psutil.Process,
    database: psutil.Process | None,
) -> Phase:
    tally = Tally()
    fleet.tally = tally
    consoles = Consoles(fleet.target, tally, plan.sample, plan.measure_every)
    spread = ConsoleProcesses(fleet.target, plan.sample, plan.console_processes,
                              plan.measure_every)
    if plan.console_processes > 1:
        await spread.open(plan.consoles)
        await consoles.open(0, stalled)
    else:
        await consoles.open(plan.consoles, stalled)
    meter = _Meter(server_proc, database, spread.pids)
    try:
        with frozen_heap():
            start = time.time()
            tally.window.start = start + plan.warmup
            tally.window.end = tally.window.start + plan.duration
            spread.window(tally.window.start, tally.window.end)
            driving = asyncio.create_task(fleet.steady(plan.interval, tally.window.end + 0.5))
            await asyncio.sleep(plan.warmup)
            meter.start()
            await asyncio.sleep(plan.duration)
            cpu, rss, db, me = meter.stop()
            await driving
            await asyncio.sleep(min(3.0, plan.interval))  # the last answers and deliveries
            await spread.count_into(tally)
    finally:
        await consoles.close()
        await spread.close()
    seconds = plan.duration
    base = tally.accepted if fleet.target.answers else tally.sent
    return Phase(
        server=server,
        phase="stalled consoles" if stalled else "steady",
        consoles=plan.consoles,
        stalled=stalled,
        seconds=seconds,
        sent_per_s=tally.sent / seconds,
        accepted_per_s=tally.accepted / seconds if fleet.target.answers else None,
        delivered_per_s=tally.delivered / seconds,
        delivered_share=tally.delivered / (base * plan.consoles) if base and plan.consoles
        else None,
        latency=Timing.of(tally.latencies_ms) if tally.latencies_ms else None,
        fanout=Timing.of(tally.fanout_ms) if tally.fanout_ms else None,
        server_cpu_pct=cpu,
        server_rss_mib=rss,
        database_cpu_pct=db if fleet.target.answers else None,
        loadgen_cpu_pct=me,
        refusals=tally.refusals,
        lost=tally.lost,
        load=load_average(),
    )


async def _ingest(
    fleet: Fleet, plan: Plan, server_proc: psutil.Process, database: psutil.Process | None
) -> Phase:
    tally = Tally()
    fleet.tally = tally
    meter = _Meter(server_proc, database)
    start = time.time()
    warm = min(plan.warmup, 3.0)
    tally.window.start = start + warm
    tally.window.end = tally.window.start + plan.ingest_seconds
    driving = asyncio.create_task(fleet.flood(tally.window.end, per_unit_hz=plan.ingest_hz))
    await asyncio.sleep(warm)
    meter.start()
    await asyncio.sleep(plan.ingest_seconds)
    cpu, rss, db, me = meter.stop()
    await driving
    seconds = plan.ingest_seconds
    return Phase(
        server=OURS,
        phase="ingest alone",
        consoles=0,
        stalled=0,
        seconds=seconds,
        sent_per_s=tally.sent / seconds,
        accepted_per_s=tally.accepted / seconds,
        delivered_per_s=0.0,
        delivered_share=None,
        latency=None,
        fanout=None,
        server_cpu_pct=cpu,
        server_rss_mib=rss,
        database_cpu_pct=db,
        loadgen_cpu_pct=me,
        refusals=tally.refusals,
        lost=tally.lost,
        load=load_average(),
    )


async def run_benchmark(settings: Settings, plan: Plan, rate_hz: float) -> Result:
    phases: list[Phase] = []
    logs = Path(tempfile.mkdtemp(prefix="cad-bench-avl-"))
    async with scratch_engine(settings) as engine:
        tokens, console_token = await _seed(engine, plan.units)
        database = await _database_process(engine)
        url = engine.url.render_as_string(hide_password=False)
        port = free_port()
        env = {
            **os.environ,
            "CAD_DATABASE_URL": url,
            "CAD_PORT": str(port),
            "CAD_HOST": "127.0.0.1",
            "CAD_AMI_ENABLED": "false",
            "CAD_TRACKING_RATE_HZ": str(rate_hz),
        }
        argv = [sys.executable, "-m", "command", "serve", "--no-supervise"]
        health = f"http://127.0.0.1:{port}/api/v1/health"
        ws = f"ws://127.0.0.1:{port}"
        ours = Target(
            OURS,
            unit_url=lambda uid: f"{ws}/api/v1/units/ws?token={tokens[uid]}",
            console_url=f"{ws}/api/v1/tracking/ws?token={console_token}",
            subscribe=json.dumps({"type": "subscribe"}),
            answers=True,
            greeting=2,
        )
        async with server_process(argv, env, http_ready(health), logs / "serve.log") as proc:
            fleet = Fleet(ours)
            await fleet.open(plan.units)
            try:
                for _ in range(plan.rounds):
                    phases.append(await _steady(OURS, fleet, plan, 0, proc, database))
                    if plan.stall:
                        phases.append(
                            await _steady(OURS, fleet, plan, plan.stall, proc, database))
                if plan.ingest_seconds:
                    phases.append(await _ingest(fleet, plan, proc, database))
            finally:
                await fleet.close()
        bare_port = free_port()
        bws = f"ws://127.0.0.1:{bare_port}"
        bare = Target(
            BARE,
            unit_url=lambda uid: f"{bws}/units",
            console_url=f"{bws}/consoles",
            subscribe=None,
            answers=False,
            greeting=0,
        )
        bare_argv = [sys.executable, "-m", "command.bench.avl_baseline", "--port", str(bare_port),
                     *(["--no-compression"] if not plan.bare_compression else [])]
        async with server_process(
            bare_argv, dict(os.environ), port_ready(bare_port), logs / "bare.log"
        ) as proc:
            fleet = Fleet(bare)
            await fleet.open(plan.units)
            try:
                for _ in range(plan.rounds):
                    phases.append(await _steady(BARE, fleet, plan, 0, proc, None))
                    if plan.stall:
                        phases.append(await _steady(BARE, fleet, plan, plan.stall, proc, None))
            finally:
                await fleet.close()
    return Result(plan.units, plan.interval, plan.consoles, plan.stall, rate_hz, phases)


def _range(option: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise InvalidInput(
            f"{option} {value:g} is outside {low:g}..{high:g}",
            code="cli.option_range",
            option=option,
            value=value,
            min=low,
            max=high,
        )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "avl", help="live positions: units -> validation, storage -> consoles, vs bare broadcast"
    )
    bench.add_argument("--units", type=int, default=5000, help="simulated units (1..20000)")
    bench.add_argument("--interval", type=float, default=5.0, help="seconds between positions")
    bench.add_argument("--consoles", type=int, default=200, help="consoles watching every unit")
    bench.add_argument("--duration", type=float, default=30.0, help="seconds measured per phase")
    bench.add_argument("--stall", type=int, default=0, help="consoles that stop reading")
    bench.add_argument(
        "--ingest", type=float, default=15.0, help="seconds of ingest alone (0: none)"
    )
    bench.add_argument(
        "--ingest-hz", type=float, default=19.0,
        help="positions a second each unit sends at most in the ingest phase, each after the "
        "last one's ack (the terminal's rate limit is 20)",
    )
    bench.add_argument(
        "--console-processes", type=int, default=1,
        help="processes the live consoles run in (1: this one), so that reading what they "
        "receive is not one core's work",
    )
    bench.add_argument(
        "--bare-no-compression", action="store_true",
        help="the bare server without per-message compression too (websockets' default is on)",
    )
    bench.add_argument(
        "--rate-hz", type=float, default=0.0,
        help="CAD_TRACKING_RATE_HZ (0: each console as fast as its socket takes batches)",
    )
    bench.add_argument("--sample", type=int, default=10, help="latency of every n-th unit")
    bench.add_argument(
        "--rounds", type=int, default=1,
        help="run the steady and stalled phases this many times each, alternating; the "
        "summary compares their medians (the load of a shared machine drifts)",
    )
    bench.add_argument(
        "--measure-every", type=int, default=1,
        help="latency measured by every n-th live console (the others read and count every "
        "frame without parsing it), so that the load generator leaves the server its core",
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(handler=bench_cmd)


def _line(p: Phase) -> str:
    accepted = "" if p.accepted_per_s is None else f", accepted {p.accepted_per_s:,.0f}/s"
    share = "" if p.delivered_share is None else f" ({p.delivered_share:.1%} of all)"
    db = "" if p.database_cpu_pct is None else f", database CPU {p.database_cpu_pct:.0f}%"
    refused = f"\n    refused: {p.refusals}" if p.refusals else ""
    if p.lost:
        refused += f"\n    unit connections closed by the server: {p.lost}"
    latency = "no samples" if p.latency is None else p.latency.line()
    return (
        f"  {p.server:<17} {p.phase:<17} consoles {p.consoles} (+{p.stalled} stalled), "
        f"load {p.load:.1f}\n"
        f"    sent {p.sent_per_s:,.0f}/s{accepted}, delivered {p.delivered_per_s:,.0f}/s{share}\n"
        f"    send -> console: {latency}\n"
        + ("" if p.fanout is None else f"    taken in -> console: {p.fanout.line()}\n")
        + f"    server CPU {p.server_cpu_pct:.0f}%, RSS {p.server_rss_mib:.0f} MiB{db}, "
        f"load generator CPU {p.loadgen_cpu_pct:.0f}%{refused}"
    )


def bench_cmd(args: argparse.Namespace, settings: Settings) -> int:
    _range("--units", args.units, 1, 20_000)
    _range("--interval", args.interval, 0.1, 600)
    _range("--consoles", args.consoles, 0, 2_000)
    _range("--duration", args.duration, 1, 3_600)
    _range("--stall", args.stall, 0, 500)
    _range("--ingest", args.ingest, 0, 600)
    _range("--rate-hz", args.rate_hz, 0, 50)
    _range("--ingest-hz", args.ingest_hz, 0.1, 20)
    _range("--console-processes", args.console_processes, 1, 16)
    _range("--measure-every", args.measure_every, 1, 1_000)
    _range("--rounds", args.rounds, 1, 20)
    _range("--sample", args.sample, 1, 1_000)
    ensure_embedded_running(settings)
    drop_on_sigterm()
    plan = Plan(
        units=args.units,
        interval=args.interval,
        consoles=args.consoles,
        stall=args.stall,
        duration=args.duration,
        warmup=min(10.0, max(3.0, args.interval)),
        ingest_seconds=args.ingest,
        sample=args.sample,
        ingest_hz=args.ingest_hz,
        bare_compression=not args.bare_no_compression,
        console_processes=args.console_processes,
        measure_every=args.measure_every,
        rounds=args.rounds,
    )
    before = load_average()
    result = asyncio.run(run_benchmark(settings, plan, args.rate_hz))
    if args.json:
        figures: dict[str, Any] = asdict(result)
        figures["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"avl: {result.units} units every {result.interval:g} s, {result.consoles} consoles, "
        f"{result.stall} stalled, positions to consoles "
        + (f"at {result.rate_hz:g} Hz " if result.rate_hz else "as each socket takes them ")
        + f"(load average {before:.1f} -> {load_average():.1f})\n"
        + "\n".join(_line(p) for p in result.phases)
        + _summary(result)
    )
    return 0


def p99_of(result: Result, server: str, phase: str) -> float | None:
    """The p99 of ``server``'s ``phase``: the median over its rounds when it ran several."""
    found = [p.latency.p99_ms for p in result.phases
             if p.server == server and p.phase == phase and p.latency is not None]
    return statistics.median(found) if found else None


def _summary(result: Result) -> str:
    lines: list[str] = []
    ours, bare = p99_of(result, OURS, "steady"), p99_of(result, BARE, "steady")
    if ours is not None and bare is not None:
        lines.append(f"p99 ours / bare: {ours / bare:.2f}x")
    stalled = p99_of(result, OURS, "stalled consoles")
    if ours is not None and stalled is not None:
        lines.append(f"stalled consoles raise our p99 by {(stalled / ours - 1):+.1%}")
    cpu = {server: statistics.median([p.server_cpu_pct for p in result.phases
                                      if p.server == server and p.phase == "steady"])
           for server in {p.server for p in result.phases if p.phase == "steady"}}
    if cpu.get(BARE):
        lines.append(f"server CPU ours / bare: {cpu[OURS] / cpu[BARE]:.2f}x")
    return "" if not lines else "\n" + "\n".join(lines)

