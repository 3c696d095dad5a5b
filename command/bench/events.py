"""``cad bench events``: the event log's writers and its delivery to consoles, against the first
release's append (one global advisory lock held until commit, NOTIFY in the transaction) in the
same run, on the same scratch database.

Each writer's transaction is a state change as the incident service makes them: it updates its
own subject row and appends one event. For both designs:

- throughput and commit latency of ``--writers`` concurrent writers for ``--seconds``, and the
  delivery latency from each commit to a subscriber of the log meanwhile;
- the same with one slow transaction that holds its append open for ``--hold`` seconds in the
  middle of the window (the baseline's writers queue behind its lock);
- delivery latency on a quiet log, one event at a time; for this design also from a process
  without a hub of its own, whose commits the hubs find by looking every
  ``sequence_interval``.

The load phases run ``--rounds`` times, the two designs taking turns, and the throughput ratio
is the median of the rounds': the machine is shared and its load wanders.

The baseline's log is a table shaped as in the first release (``seq`` from an identity, given
under the lock), read as its hub read it: LISTEN, then everything above the last ``seq``,
handed to a subscriber through the same kind of queue.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    MetaData,
    Table,
    Text,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateTable

from command import events
from command.bench.scratch import scratch_engine
from command.bench.stats import Timing, load_average, percentile
from command.cli.common import ensure_embedded_running
from command.db import make_engine
from command.errors import InvalidInput
from command.eventhub import EventHub, Subscription
from command.events import Event, NewEvent
from command.settings import Settings

Append = Callable[[AsyncConnection, Sequence[NewEvent]], Awaitable[list[int]]]
T = TypeVar("T")

LOCKED = "locked"  # the baseline
OURS = "after commit"
OURS_NO_HUB = "after commit, writer without a hub"

_LOCKED_CHANNEL = "cad_bench_locked"
_LOCKED_KEY = 0x0CADB7E5
_SLOW_SUBJECT = 1_000_000
# The first release's event log, in the scratch database beside ours.
_locked_events = Table(
    "bench_locked_events",
    MetaData(),
    Column("seq", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("type", Text, nullable=False),
    Column("subject_type", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("actor", Text),
    Column("data", JSONB, nullable=False),
)


async def locked_append(conn: AsyncConnection, new: Sequence[NewEvent]) -> list[int]:
    """The first release's append: the global lock until commit makes seq commit order."""
    if not new:
        return []
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCKED_KEY})
    result = await conn.execute(
        _locked_events.insert().returning(_locked_events.c.seq),
        [
            {
                "type": e.type,
                "subject_type": e.subject_type,
                "subject_id": e.subject_id,
                "actor": e.actor,
                "data": json.loads(json.dumps(dict(e.data), default=str)),
            }
            for e in new
        ],
    )
    seqs = sorted(result.scalars().all())
    await conn.execute(
        text("SELECT pg_notify(:ch, :seq)"), {"ch": _LOCKED_CHANNEL, "seq": str(seqs[-1])}
    )
    return seqs


async def _create_tables(engine: AsyncEngine, writers: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(CreateTable(_locked_events))
        await conn.execute(
            text(
                "CREATE INDEX bench_locked_events_subject "
                "ON bench_locked_events (subject_type, subject_id, seq)"
            )
        )
        await conn.execute(
            text("CREATE TABLE bench_subjects (id int PRIMARY KEY, version int NOT NULL DEFAULT 0)")
        )
        await conn.execute(
            text("INSERT INTO bench_subjects SELECT g FROM generate_series(0, :n) g"),
            {"n": writers},
        )
        await conn.execute(text("INSERT INTO bench_subjects VALUES (:id)"), {"id": _SLOW_SUBJECT})


class Arrivals:
    """Commit and arrival times of marked events (``data.k``), and waiting for one to arrive."""

    def __init__(self) -> None:
        self.committed: dict[int, float] = {}
        self.arrived: dict[int, float] = {}
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._next = 0

    def mark(self) -> int:
        self._next += 1
        return self._next

    def arrive(self, k: int) -> None:
        self.arrived.setdefault(k, time.perf_counter())
        waiter = self._waiting.pop(k, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_for(self, k: int, limit: float = 10.0) -> None:
        if k in self.arrived:
            return
        waiter = self._waiting.setdefault(k, asyncio.get_running_loop().create_future())
        await asyncio.wait_for(waiter, limit)

    async def all_arrived(self, limit: float = 30.0) -> None:
        for k in list(self.committed):
            await self.wait_for(k, limit)

    def latency(self, keys: Sequence[int] | None = None) -> Timing:
        chosen = self.committed if keys is None else keys
        return Timing.of([max(0.0, (self.arrived[k] - self.committed[k]) * 1000.0) for k in chosen])


async def _hub_console(hub: EventHub, after: int, arrivals: Arrivals) -> None:
    async for event in hub.stream(after):
        arrivals.arrive(int(event.data["k"]))


async def _read_locked(conn: AsyncConnection, after: int) -> list[Event]:
    query = (
        select(_locked_events)
        .where(_locked_events.c.seq > after)
        .order_by(_locked_events.c.seq)
        .limit(1000)
    )
    return [
        Event(r.seq, r.at, r.type, r.subject_type, r.subject_id, r.actor, r.data)
        for r in await conn.execute(query)
    ]


async def _locked_console(engine: AsyncEngine, arrivals: Arrivals, ready: asyncio.Event) -> None:
    """The first release's hub: on a notification, read every event above the last into
    ``Event`` objects and hand them to a subscriber's queue (on a held connection, as ours)."""
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    listener = await asyncpg.connect(dsn)
    wake = asyncio.Event()
    await listener.add_listener(_LOCKED_CHANNEL, lambda *_: wake.set())
    sub = Subscription(1_000_000)

    async def consume() -> None:
        while True:
            arrivals.arrive(int((await sub.get()).data["k"]))

    consumer = asyncio.create_task(consume())
    try:
        async with engine.connect() as held:
            conn = await held.execution_options(isolation_level="AUTOCOMMIT")
            top = text("SELECT coalesce(max(seq), 0) FROM bench_locked_events")
            last = int(await conn.scalar(top))
            ready.set()
            while True:
                await wake.wait()
                wake.clear()
                while True:
                    batch = await _read_locked(conn, last)
                    for event in batch:
                        sub.offer(event)
                        last = event.seq
                    if len(batch) < 1000:
                        break
    finally:
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        await listener.close()


@dataclass(frozen=True)
class LoadRun:
    """N writers for a while: what they committed, how long commits took, how soon delivered."""

    design: str
    commits: int
    seconds: float
    commit: Timing
    delivery: Timing
    during_hold: int | None  # commits while the slow transaction was open
    hold_commit_s: float | None  # how long the slow transaction's own commit took

    @property
    def per_second(self) -> float:
        return self.commits / self.seconds


async def _load(
    engine: AsyncEngine,
    append: Append,
    arrivals: Arrivals,
    design: str,
    writers: int,
    seconds: float,
    hold: float | None,
) -> LoadRun:
    latencies: list[float] = []
    commits_at: list[float] = []
    started = time.perf_counter()
    end = started + seconds
    update = text("UPDATE bench_subjects SET version = version + 1 WHERE id = :id")

    async def change(subject: int, hold_open: float = 0.0) -> None:
        k = arrivals.mark()
        async with engine.begin() as conn:
            await conn.execute(update, {"id": subject})
            await append(conn, [NewEvent("bench.tick", "bench", str(subject), {"k": k})])
            if hold_open:
                await asyncio.sleep(hold_open)  # the slow part of the slow transaction
        arrivals.committed[k] = time.perf_counter()

    async def writer(w: int) -> None:
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            await change(w)
            t1 = time.perf_counter()
            latencies.append((t1 - t0) * 1000.0)
            commits_at.append(t1)

    window: list[float] = []

    async def slow() -> None:
        assert hold is not None
        await asyncio.sleep((seconds - hold) / 2)
        window.append(time.perf_counter())
        await change(_SLOW_SUBJECT, hold)
        window.append(time.perf_counter())

    tasks = [writer(w) for w in range(writers)]
    await asyncio.gather(*tasks, *([slow()] if hold else []))
    elapsed = time.perf_counter() - started
    await arrivals.all_arrived()
    during = hold_commit = None
    if hold:
        opened, closed = window
        during = sum(1 for t in commits_at if opened + 0.05 < t < closed)
        hold_commit = closed - opened - hold
    return LoadRun(
        design=design,
        commits=len(latencies),
        seconds=elapsed,
        commit=Timing.of(latencies),
        delivery=arrivals.latency(),
        during_hold=during,
        hold_commit_s=hold_commit,
    )


async def _quiet(engine: AsyncEngine, append: Append, arrivals: Arrivals, n: int) -> Timing:
    keys = []
    for _ in range(n):
        k = arrivals.mark()
        async with engine.begin() as conn:
            await append(conn, [NewEvent("bench.quiet", "bench", "quiet", {"k": k})])
        arrivals.committed[k] = time.perf_counter()
        await arrivals.wait_for(k)
        keys.append(k)
    return arrivals.latency(keys)


@dataclass(frozen=True)
class EventsBenchmark:
    writers: int
    seconds: float
    hold: float
    rounds: int
    load_before: float
    load_after: float
    plain: list[LoadRun]
    slow: list[LoadRun]
    quiet: dict[str, Timing]


async def _design(
    settings: Settings,
    url: str,
    writers: int,
    run: Callable[[AsyncEngine, Arrivals], Awaitable[T]],
    *,
    ours: bool,
) -> T:
    """Run ``run`` with a fresh engine and a subscriber of that design's log."""
    engine = make_engine(url, settings.model_copy(update={"db_pool_size": writers + 4}))
    arrivals = Arrivals()
    hub = EventHub(engine, queue_size=1_000_000)
    console: asyncio.Task[None]
    try:
        if ours:
            await hub.start()
            async with engine.connect() as conn:
                top = await events.last_seq(conn)
            console = asyncio.create_task(_hub_console(hub, top, arrivals))
        else:
            ready = asyncio.Event()
            console = asyncio.create_task(_locked_console(engine, arrivals, ready))
            await asyncio.wait_for(ready.wait(), 10)
        try:
            return await run(engine, arrivals)
        finally:
            console.cancel()
            await asyncio.gather(console, return_exceptions=True)
    finally:
        if ours:
            await hub.stop()
        await engine.dispose()


async def run_benchmark(
    settings: Settings, writers: int, seconds: float, hold: float, quiet: int, rounds: int = 1
) -> EventsBenchmark:
    async with scratch_engine(settings) as scratch:
        await _create_tables(scratch, writers)
        url = scratch.url.render_as_string(hide_password=False)
        load_before = load_average()

        def load(
            design: str, with_hold: float | None
        ) -> Callable[[AsyncEngine, Arrivals], Awaitable[LoadRun]]:
            append = events.append if design == OURS else locked_append
            return lambda e, a: _load(e, append, a, design, writers, seconds, with_hold)

        plain: list[LoadRun] = []
        slow: list[LoadRun] = []
        for _ in range(rounds):  # the two designs take turns, so both see the machine's load
            plain.append(await _design(settings, url, writers, load(LOCKED, None), ours=False))
            plain.append(await _design(settings, url, writers, load(OURS, None), ours=True))
            slow.append(await _design(settings, url, writers, load(OURS, hold), ours=True))
            slow.append(await _design(settings, url, writers, load(LOCKED, hold), ours=False))
        timings: dict[str, Timing] = {
            LOCKED: await _design(
                settings, url, 1, lambda e, a: _quiet(e, locked_append, a, quiet), ours=False
            ),
            OURS: await _design(
                settings, url, 1, lambda e, a: _quiet(e, events.append, a, quiet), ours=True
            ),
        }
        hubless = make_engine(url, settings)
        try:
            timings[OURS_NO_HUB] = await _design(
                settings,
                url,
                1,
                lambda _e, a: _quiet(hubless, events.append, a, quiet),
                ours=True,
            )
        finally:
            await hubless.dispose()
        return EventsBenchmark(
            writers=writers,
            seconds=seconds,
            hold=hold,
            rounds=rounds,
            load_before=load_before,
            load_after=load_average(),
            plain=plain,
            slow=slow,
            quiet=timings,
        )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "events", help="event log: writers with and without a slow transaction, delivery"
    )
    bench.add_argument("--writers", type=int, default=16, help="concurrent writers (1..100)")
    bench.add_argument("--seconds", type=float, default=5.0, help="each load phase (1..600)")
    bench.add_argument(
        "--hold", type=float, default=2.0, help="seconds the slow transaction stays open"
    )
    bench.add_argument("--quiet", type=int, default=200, help="events timed on a quiet log")
    bench.add_argument("--rounds", type=int, default=3, help="turns of both designs (1..20)")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(handler=bench_cmd)


def _check(args: argparse.Namespace) -> None:
    if not 1 <= args.writers <= 100:
        raise InvalidInput(
            f"--writers {args.writers} is outside 1..100",
            code="cli.option_range",
            option="--writers",
            value=args.writers,
            min=1,
            max=100,
        )
    if not 1 <= args.seconds <= 600:
        raise InvalidInput(
            f"--seconds {args.seconds:g} is outside 1..600",
            code="cli.option_range",
            option="--seconds",
            value=args.seconds,
            min=1,
            max=600,
        )
    if not 0 < args.hold <= args.seconds * 0.8:
        raise InvalidInput(
            f"--hold {args.hold:g} must be above 0 and at most 80% of --seconds "
            f"({args.seconds * 0.8:g})",
            code="bench.hold_range",
            hold=args.hold,
            seconds=args.seconds,
            limit=args.seconds * 0.8,
        )
    if not 1 <= args.quiet <= 10_000:
        raise InvalidInput(
            f"--quiet {args.quiet} is outside 1..10000",
            code="cli.option_range",
            option="--quiet",
            value=args.quiet,
            min=1,
            max=10_000,
        )
    if not 1 <= args.rounds <= 20:
        raise InvalidInput(
            f"--rounds {args.rounds} is outside 1..20",
            code="cli.option_range",
            option="--rounds",
            value=args.rounds,
            min=1,
            max=20,
        )


def _line(run: LoadRun) -> str:
    held = (
        f"; {run.during_hold} commits while it was open, its own commit {run.hold_commit_s:.2f} s"
        if run.during_hold is not None and run.hold_commit_s is not None
        else ""
    )
    return (
        f"  {run.design:<13} {run.per_second:8,.0f} commits/s ({run.commits:,} in "
        f"{run.seconds:.1f} s){held}\n"
        f"    commit    {run.commit.line()}\n"
        f"    delivery  {run.delivery.line()}"
    )


def ratios(runs: Sequence[LoadRun]) -> list[float]:
    """Per round: this design's throughput over the baseline's."""
    ours = [r.per_second for r in runs if r.design == OURS]
    locked = [r.per_second for r in runs if r.design == LOCKED]
    return [o / b for o, b in zip(ours, locked, strict=True)]


def _summary(title: str, runs: Sequence[LoadRun]) -> str:
    each = ratios(runs)
    return (
        f"{title}: {percentile(each, 0.5):.2f}x the baseline's throughput (median of "
        f"{', '.join(f'{r:.2f}x' for r in each)})\n" + "\n".join(_line(r) for r in runs)
    )


def bench_cmd(args: argparse.Namespace, settings: Settings) -> int:
    _check(args)
    ensure_embedded_running(settings)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # so the scratch database is dropped on the way out

    signal.signal(signal.SIGTERM, stop)
    result = asyncio.run(
        run_benchmark(settings, args.writers, args.seconds, args.hold, args.quiet, args.rounds)
    )
    figures: dict[str, Any] = asdict(result)
    figures["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    figures["ratio_plain"] = ratios(result.plain)
    figures["ratio_slow"] = ratios(result.slow)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"event log, {result.writers} writers, {result.seconds:g} s per phase, "
        f"{result.rounds} rounds (load average {result.load_before:.1f} -> "
        f"{result.load_after:.1f})\n"
        + _summary("writers alone", result.plain)
        + "\n"
        + _summary(f"with one transaction open for {result.hold:g} s", result.slow)
        + "\nquiet log, one event at a time, commit -> subscriber\n"
        + "\n".join(f"  {design:<36} {t.line()}" for design, t in result.quiet.items())
    )
    return 0
