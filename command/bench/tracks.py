"""``cad bench tracks``: breadcrumbs with tens of millions of rows, this design (``unit_positions``
partitioned by day, each day rewritten in (unit, device time) order once it is over) against one
unpartitioned table with the same columns and an index on (unit, device time) -- what a team
would build without partitioning -- in the same run, on the same scratch database and rows.

1. The writer's ingest rate into both tables while they are empty: ``--ingest`` fixes of 1,000
   units through the ``BatchedPositionWriter`` (batches, the latest position of each unit
   updated), as fast as it takes them; twice each, taking turns, after a warm-up of both.
2. ``--positions`` fixes generated in the database (``generate_series``): ``--units`` units over
   ``--days`` whole days before today, evenly spaced, inserted in time order as they would
   arrive, into the partitioned table, then copied in the same order into the baseline. Both
   get their (unit, device time) key after the load (as a bulk load is done); then the closed
   days are compacted, as the maintenance does (timed), and everything is analysed.
3. One unit's 24-hour playback: ``--samples`` random (unit, start) windows, each read from both
   tables in turn (the same query: every fix of the unit in the window, oldest first), timed to
   the last row fetched; the two must return the same rows. And the whole playback of the
   service (window check, read of both breadcrumb tables, the track simplified) on this design.
4. The ingest rate again into the full tables (into today, as live positions go).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.bench.scratch import analyse, drop_on_sigterm, scratch_engine
from command.bench.stats import Timing, load_average
from command.cli.common import ensure_embedded_running
from command.errors import InvalidInput
from command.settings import Settings
from command.tracking.writer import BatchedPositionWriter, WriterPolicy
from dispatch.avl import store
from dispatch.avl.fixes import Fix
from dispatch.avl.partitions import PARENT
from dispatch.avl.tracks import simplify, window

FLAT = "bench_positions_flat"
OURS = "partitioned by day"
BASELINE = "one table"
INGEST_UNITS = 1_000
#: the service's statement timeout is for requests; a bulk load of millions of rows takes longer
_NO_TIMEOUT = "SET LOCAL statement_timeout = 0"

_UNITS = text(
    "INSERT INTO dispatch_units (id, callsign, unit_type, capabilities, crew, status, "
    "status_since) SELECT 'I' || lpad(n::text, 4, '0'), 'I' || lpad(n::text, 4, '0'), 'engine', "
    "'{engine}', 4, 'available', now() FROM generate_series(0, :n - 1) n"
)


@dataclass(frozen=True)
class Ingest:
    design: str
    table_rows: int
    fixes: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.fixes / self.seconds


@dataclass(frozen=True)
class Result:
    positions: int
    units: int
    days: int
    interval_s: float
    generate_s: float
    copy_s: float
    key_ours_s: float
    key_baseline_s: float
    compact_s: float
    #: the longest that position writes waited for one day's swap
    compact_pause_s: float
    size_ours_mb: float
    size_baseline_mb: float
    partitions: int
    rows_per_window: float
    playback: dict[str, Timing]
    service_playback: Timing
    ingest: list[Ingest]
    load_before: float
    load_after: float


def _say(message: str) -> None:
    print(message, flush=True)


def _generate_sql(table: str) -> str:
    """One day of fixes of every unit, in time order, on a wandering line near Vaduz."""
    return (
        f"INSERT INTO {table} (unit_id, device_time, received_at, geom, accuracy_m, speed_mps, "  # noqa: S608
        "heading_deg, source, jump, seq) "
        "SELECT 'U' || lpad(u::text, 5, '0'), t, t + interval '1 second', "
        "ST_SetSRID(ST_MakePoint(9.45 + 0.1 * ((u * 37 + k) % 1000) / 1000.0, "
        "47.05 + 0.1 * ((u * 91 + k * 3) % 1000) / 1000.0), 4326), 5, 12.5, "
        "(k * 7 + u) % 360, 'terminal', false, k "
        "FROM generate_series(0, CAST(:per_day AS int) - 1) k, "
        "LATERAL (SELECT CAST(:day AS timestamptz) + k * CAST(:step AS float8) "
        "* interval '1 second' AS t) tt, "
        # referring to k makes the units the inner loop: rows come in time order, no sort
        "LATERAL generate_series(0, CAST(:units AS int) - 1 + 0 * k) u"
    )


async def _rows(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")))  # noqa: S608


async def _ingest(
    engine: AsyncEngine, design: str, table: str, fixes: int, base: datetime
) -> Ingest:
    rows = await _rows(engine, table)
    writer = BatchedPositionWriter(
        engine, WriterPolicy(queue_limit=fixes + 1), table=table, update_latest=True
    )
    per_unit = fixes // INGEST_UNITS
    batch = [
        Fix(
            unit_id=f"I{u:04d}",
            lon=9.5 + u * 1e-5,
            lat=47.1 + k * 1e-5,
            device_time=base + timedelta(seconds=k),
            received_at=base + timedelta(seconds=k + 1),
            source="terminal",
            speed_mps=12.5,
            heading_deg=90.0,
            accuracy_m=5.0,
            seq=k,
        )
        for k in range(per_unit)
        for u in range(INGEST_UNITS)
    ]
    await writer.start()
    started = time.perf_counter()
    for i in range(0, len(batch), 100):  # as a hundred devices at a time report
        await writer.write(batch[i : i + 100])
        if i % 10_000 == 0:
            await asyncio.sleep(0)
    await writer.flush()
    seconds = time.perf_counter() - started
    await writer.stop()
    if writer.written != len(batch) or writer.dropped:
        raise RuntimeError(f"the writer wrote {writer.written} of {len(batch)}")
    return Ingest(design, rows, len(batch), seconds)


async def _ingest_rounds(engine: AsyncEngine, fixes: int, base: datetime) -> list[Ingest]:
    """Both designs twice, in turns (ours, the baseline, the baseline, ours), each into its own
    hour of today so that no fix is a replay of another."""
    turns = [(OURS, PARENT), (BASELINE, FLAT), (BASELINE, FLAT), (OURS, PARENT)]
    return [
        await _ingest(engine, design, table, fixes, base + timedelta(hours=n))
        for n, (design, table) in enumerate(turns)
    ]


async def _size_mb(engine: AsyncEngine, table: str) -> float:
    sql = (
        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
        "WHERE c.oid = CAST(:t AS regclass) OR c.oid IN "
        "(SELECT inhrelid FROM pg_inherits WHERE inhparent = CAST(:t AS regclass))"
    )
    async with engine.connect() as conn:
        return float(await conn.scalar(text(sql), {"t": table})) / 2**20


async def _timed(engine: AsyncEngine, sql: str, params: dict[str, Any]) -> tuple[float, int]:
    async with engine.connect() as conn:
        started = time.perf_counter()
        rows = (await conn.execute(text(sql), params)).all()
        return (time.perf_counter() - started) * 1000, len(rows)


async def run_benchmark(
    settings: Settings,
    positions: int,
    units: int,
    days: int,
    samples: int,
    ingest: int,
    say: Callable[[str], None] = _say,
) -> Result:
    load_before = load_average()
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first_day = today - timedelta(days=days)
    per_day = -(-positions // (units * days))  # at least as many as asked
    step = 86_400 / per_day
    # The bulk load runs statements of minutes: the service's deadlines are for requests.
    bulk = settings.model_copy(update={"db_statement_timeout_ms": 3_600_000})
    async with scratch_engine(bulk) as engine:
        async with engine.begin() as conn:
            await conn.execute(
                text(f"CREATE TABLE {FLAT} (LIKE {PARENT} INCLUDING DEFAULTS)")
            )
            await conn.execute(_UNITS, {"n": INGEST_UNITS})
        for d in range(days + 2):
            await store.make_ahead(engine, first_day + timedelta(days=d), ahead_days=0)
        results: list[Ingest] = []
        await analyse(engine)
        say(f"ingest into the empty tables: {ingest:,} fixes each, twice, taking turns")
        # warm up both (connections, plans, caches): the first run of anything is slower
        await _ingest(engine, OURS, PARENT, INGEST_UNITS * 10, today + timedelta(hours=23))
        await _ingest(engine, BASELINE, FLAT, INGEST_UNITS * 10, today + timedelta(hours=23))
        results += await _ingest_rounds(engine, ingest, today)
        # The bulk load builds its key afterwards, on both tables alike.
        async with engine.begin() as conn:
            await conn.execute(text(f"ALTER TABLE {PARENT} DROP CONSTRAINT unit_positions_pkey"))
        say(
            f"generating {per_day * units * days:,} positions: {units:,} units, {days} days, "
            f"one every {step:.1f} s"
        )
        started = time.perf_counter()
        for d in range(days):
            day = first_day + timedelta(days=d)
            async with engine.begin() as conn:
                await conn.execute(text("SET LOCAL synchronous_commit = off"))
                await conn.execute(text(_NO_TIMEOUT))
                await conn.execute(
                    text(_generate_sql(PARENT)),
                    {"per_day": per_day, "day": day, "step": step, "units": units},
                )
            say(f"  day {d + 1}/{days} ({time.perf_counter() - started:.0f} s)")
        generate_s = time.perf_counter() - started
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(text(_NO_TIMEOUT))
            await conn.execute(
                text(
                    f"ALTER TABLE {PARENT} ADD CONSTRAINT unit_positions_pkey "
                    "PRIMARY KEY (unit_id, device_time)"
                )
            )
        key_ours_s = time.perf_counter() - started
        say(f"  generated in {generate_s:.0f} s, key built in {key_ours_s:.0f} s; copying")
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL synchronous_commit = off"))
            await conn.execute(text(_NO_TIMEOUT))
            # One scan, partition after partition, each in the order it was written.
            await conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
            await conn.execute(
                text(
                    f"INSERT INTO {FLAT} SELECT * FROM {PARENT} "  # noqa: S608
                    "WHERE unit_id LIKE 'U%'"
                )
            )
        copy_s = time.perf_counter() - started
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(text(_NO_TIMEOUT))
            await conn.execute(
                text(f"ALTER TABLE {FLAT} ADD PRIMARY KEY (unit_id, device_time)")
            )
        key_baseline_s = time.perf_counter() - started
        say(f"  copied in {copy_s:.0f} s, key built in {key_baseline_s:.0f} s; compacting")
        # What the maintenance does to every day that is over (the baseline cannot: rewriting
        # one table of tens of millions of rows would lock it for as long).
        started = time.perf_counter()
        compacted = await store.compact(engine, today)
        compact_s = time.perf_counter() - started
        pause_s = max((c.pause_s for c in compacted), default=0.0)
        say(f"  {len(compacted)} days compacted in {compact_s:.0f} s; analysing")
        async with engine.begin() as conn:
            await conn.execute(text(_NO_TIMEOUT))
            await conn.execute(text("ANALYZE"))

        say(f"playback: {samples} windows of 24 hours, each on both tables")
        rng = random.Random(9)  # noqa: S311 - samples, not secrets
        times: dict[str, list[float]] = {OURS: [], BASELINE: []}
        counts: list[int] = []
        service: list[float] = []
        span = (days - 1) * 86_400
        for n in range(samples):
            unit = f"U{rng.randrange(units):05d}"
            since = first_day + timedelta(seconds=rng.uniform(0, span))
            params = {"u": unit, "since": since, "until": since + timedelta(hours=24)}
            order = [(OURS, PARENT), (BASELINE, FLAT)]
            read: set[int] = set()
            for design, table in order if n % 2 == 0 else reversed(order):
                ms, count = await _timed(engine, store.window_sql(table), params)
                times[design].append(ms)
                read.add(count)
            if len(read) != 1:
                raise RuntimeError(f"the two tables disagree on {unit} from {since}: {read}")
            counts.append(read.pop())
            started = time.perf_counter()
            w = window(since, since + timedelta(hours=24), datetime.now(UTC), 168)
            async with engine.connect() as conn:
                points = await store.unit_track(conn, unit, w.since, w.until)
            simplify(points, 10.0, epsg=32632)
            service.append((time.perf_counter() - started) * 1000)

        say(f"ingest into the full tables: {ingest:,} fixes each, twice, taking turns")
        results += await _ingest_rounds(engine, ingest, today + timedelta(hours=6))
        async with engine.connect() as conn:
            partitions = len(await store.existing(conn))
        size_ours = await _size_mb(engine, PARENT)
        size_flat = await _size_mb(engine, FLAT)
    return Result(
        positions=per_day * units * days,
        units=units,
        days=days,
        interval_s=step,
        generate_s=generate_s,
        copy_s=copy_s,
        key_ours_s=key_ours_s,
        key_baseline_s=key_baseline_s,
        compact_s=compact_s,
        compact_pause_s=pause_s,
        size_ours_mb=size_ours,
        size_baseline_mb=size_flat,
        partitions=partitions,
        rows_per_window=sum(counts) / len(counts),
        playback={d: Timing.of(t) for d, t in times.items()},
        service_playback=Timing.of(service),
        ingest=results,
        load_before=load_before,
        load_after=load_average(),
    )


def _option(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InvalidInput(
            f"{name} {value} is outside {low}..{high}",
            code="cli.option_range",
            option=name,
            value=value,
            min=low,
            max=high,
        )


def _check(args: argparse.Namespace) -> None:
    _option("--positions", args.positions, 10_000, 1_000_000_000)
    _option("--units", args.units, 1, 100_000)
    _option("--days", args.days, 2, 365)
    _option("--samples", args.samples, 10, 100_000)
    _option("--ingest", args.ingest, INGEST_UNITS, 10_000_000)
    if args.positions < 2 * args.units * args.days:
        raise InvalidInput(
            f"--positions {args.positions} gives each of {args.units} units fewer than two "
            f"positions a day over {args.days} days",
            code="bench.too_few_positions",
            positions=args.positions,
            units=args.units,
            days=args.days,
        )


def report(result: Result) -> str:
    lines = [
        f"tracks: {result.positions:,} positions of {result.units:,} units over {result.days} "
        f"days (one every {result.interval_s:.1f} s), load average {result.load_before:.1f} -> "
        f"{result.load_after:.1f}",
        f"  generated in {result.generate_s:.0f} s into {result.partitions} daily partitions "
        f"(+ key {result.key_ours_s:.0f} s), copied to the baseline in {result.copy_s:.0f} s "
        f"(+ key {result.key_baseline_s:.0f} s); closed days compacted in "
        f"{result.compact_s:.0f} s (writes waited at most {result.compact_pause_s:.2f} s); "
        f"sizes {result.size_ours_mb:,.0f} MB and "
        f"{result.size_baseline_mb:,.0f} MB",
        f"one unit's 24-hour playback ({result.rows_per_window:,.0f} rows a window):",
    ]
    lines += [f"  {design:<19} {t.line()}" for design, t in result.playback.items()]
    lines.append(f"  {'whole playback':<19} {result.service_playback.line()} (read + simplify)")
    lines.append("ingest through the BatchedPositionWriter:")
    lines += [
        f"  {i.design:<19} into {i.table_rows:>12,} rows: {i.per_second:9,.0f} fixes/s "
        f"({i.fixes:,} in {i.seconds:.2f} s)"
        for i in result.ingest
    ]
    return "\n".join(lines)


def bench_cmd(args: argparse.Namespace, settings: Settings) -> int:
    _check(args)
    ensure_embedded_running(settings)
    drop_on_sigterm()
    quiet: Callable[[str], None] = (lambda _: None) if args.json else _say
    result = asyncio.run(
        run_benchmark(
            settings, args.positions, args.units, args.days, args.samples, args.ingest, quiet
        )
    )
    if args.json:
        figures: dict[str, Any] = asdict(result)
        figures["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        figures["ingest_per_second"] = [i.per_second for i in result.ingest]
        print(json.dumps(figures, indent=2))
    else:
        print(report(result))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "tracks", help="breadcrumbs: 24-hour playback and ingest, partitioned vs one table"
    )
    bench.add_argument(
        "--positions", type=int, default=20_000_000, help="positions generated (default 20M)"
    )
    bench.add_argument("--units", type=int, default=500, help="units they belong to")
    bench.add_argument("--days", type=int, default=14, help="whole days they cover")
    bench.add_argument("--samples", type=int, default=200, help="24-hour windows read")
    bench.add_argument(
        "--ingest", type=int, default=200_000, help="fixes written per ingest measurement"
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(handler=bench_cmd)
