"""Breadcrumbs in the database: writing batches, keeping the daily partitions, retention, and
reading tracks back for playback.

Every statement on the partitions takes one advisory lock, so that several ``cad serve``
processes running their maintenance at once make each partition once and copy each incident's
track once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dispatch.avl import partitions
from dispatch.avl.fixes import Fix
from dispatch.avl.partitions import DEFAULT, PARENT, Partition
from dispatch.avl.tracks import TrackPoint

log = logging.getLogger(__name__)

#: pg_advisory_xact_lock key of the partition maintenance ("positio" in ASCII)
MAINTENANCE_LOCK = 0x706F736974696F

COLUMNS = (
    "unit_id, device_time, received_at, geom, accuracy_m, speed_mps, heading_deg, altitude_m, "
    "battery_pct, source, jump, seq"
)


_FIXES = (
    "SELECT * FROM unnest(CAST(:u AS text[]), CAST(:t AS timestamptz[]), "
    "CAST(:r AS timestamptz[]), CAST(:x AS float8[]), CAST(:y AS float8[]), CAST(:a AS real[]), "
    "CAST(:s AS real[]), CAST(:h AS real[]), CAST(:z AS real[]), CAST(:b AS real[]), "
    "CAST(:src AS text[]), CAST(:j AS boolean[]), CAST(:q AS bigint[])) "
    "AS f(u, t, r, x, y, a, s, h, z, b, src, j, q)"
)


def insert_sql(table: str = PARENT) -> str:
    """A multi-row insert of one batch from arrays (one round trip, one plan); a fix stored
    already (a terminal's replayed buffer) is stored once."""
    return (
        f"INSERT INTO {table} ({COLUMNS}) "  # noqa: S608 - names from code; values bound
        "SELECT u, t, r, ST_SetSRID(ST_MakePoint(x, y), 4326), a, s, h, z, b, src, j, q "
        f"FROM ({_FIXES}) f ON CONFLICT DO NOTHING"
    )


def insert_and_latest_sql(table: str = PARENT) -> str:
    """The insert of ``insert_sql`` and, in the same statement (one round trip less), the
    newest fix by device time of each unit in the batch, not a flagged jump, as its latest
    position, unless the unit has a newer one already: a late batch never moves the marker
    backwards."""
    return (
        f"WITH f AS ({_FIXES}), "  # noqa: S608 - names from code; values bound
        f"stored AS (INSERT INTO {table} ({COLUMNS}) "
        "SELECT u, t, r, ST_SetSRID(ST_MakePoint(x, y), 4326), a, s, h, z, b, src, j, q "
        "FROM f ON CONFLICT DO NOTHING) "
        "UPDATE dispatch_units d SET fix = ST_SetSRID(ST_MakePoint(n.x, n.y), 4326), "
        "fix_at = n.t FROM (SELECT DISTINCT ON (u) u, t, x, y FROM f WHERE NOT j "
        "ORDER BY u, t DESC) n WHERE d.id = n.u AND (d.fix_at IS NULL OR d.fix_at < n.t)"
    )


def batch_params(fixes: Sequence[Fix]) -> dict[str, list[object]]:
    return {
        "u": [f.unit_id for f in fixes],
        "t": [f.device_time for f in fixes],
        "r": [f.received_at for f in fixes],
        "x": [f.lon for f in fixes],
        "y": [f.lat for f in fixes],
        "a": [f.accuracy_m for f in fixes],
        "s": [f.speed_mps for f in fixes],
        "h": [f.heading_deg for f in fixes],
        "z": [f.altitude_m for f in fixes],
        "b": [f.battery_pct for f in fixes],
        "src": [f.source for f in fixes],
        "j": [f.jump for f in fixes],
        "q": [f.seq for f in fixes],
    }


async def write_batch(
    conn: AsyncConnection, fixes: Sequence[Fix], table: str = PARENT, latest: bool = True
) -> None:
    """Store one batch in the caller's transaction. Its commit is synchronous, like every
    other: a terminal drops what was acknowledged, so an ack must mean on disk, even when the
    database server itself is killed right after (the batch is one commit, so one flush)."""
    sql = insert_and_latest_sql(table) if latest else insert_sql(table)
    await conn.execute(text(sql), batch_params(fixes))


# --- partitions -------------------------------------------------------------------------------

_PARTITIONS = text(
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = CAST(:parent AS regclass)"
)
_IN_DEFAULT = text(
    f"SELECT EXISTS (SELECT FROM {DEFAULT} WHERE device_time >= :lo AND device_time < :hi)"  # noqa: S608
)


async def existing(conn: AsyncConnection, parent: str = PARENT) -> list[Partition]:
    names = (await conn.execute(_PARTITIONS, {"parent": parent})).scalars()
    return sorted(p for p in (partitions.parse(n) for n in names) if p is not None)


async def _lock(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MAINTENANCE_LOCK})


async def create(conn: AsyncConnection, partition: Partition) -> int:
    """Make one day's partition; rows of that day waiting in the default partition move into
    it. Returns how many moved."""
    lower, upper = partition.lower.isoformat(), partition.upper.isoformat()
    bounds = f"FOR VALUES FROM ('{lower}') TO ('{upper}')"
    lo_hi = {"lo": partition.lower, "hi": partition.upper}
    await conn.execute(text(f"LOCK TABLE {DEFAULT} IN SHARE ROW EXCLUSIVE MODE"))
    if not await conn.scalar(_IN_DEFAULT, lo_hi):
        await conn.execute(text(f"CREATE TABLE {partition.name} PARTITION OF {PARENT} {bounds}"))
        return 0
    await conn.execute(
        text(
            f"CREATE TABLE {partition.name} "
            f"(LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
    )
    result = await conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} "  # noqa: S608 - names from code
            "WHERE device_time >= :lo AND device_time < :hi "
            f"RETURNING *) INSERT INTO {partition.name} SELECT * FROM moved"
        ),
        lo_hi,
    )
    await conn.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {partition.name} {bounds}"))
    return int(result.rowcount)


async def make_ahead(engine: AsyncEngine, now: datetime, ahead_days: int) -> list[Partition]:
    """Make the partitions from yesterday to ``ahead_days`` ahead that do not exist yet."""
    made: list[Partition] = []
    async with engine.begin() as conn:
        await _lock(conn)
        for partition in partitions.missing(await existing(conn), now, ahead_days):
            moved = await create(conn, partition)
            log.info("made partition %s (%d rows moved from the default)", partition.name, moved)
            made.append(partition)
    return made


# --- compaction -------------------------------------------------------------------------------

COMPACTED = "compacted"
_COMMENTS = text(
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = CAST(:parent AS regclass) "
    "AND obj_description(c.oid, 'pg_class') = :mark"
)


async def compacted(conn: AsyncConnection) -> set[str]:
    return set((await conn.execute(_COMMENTS, {"parent": PARENT, "mark": COMPACTED})).scalars())


def _sorted_name(partition: Partition) -> str:
    return f"{partition.name}_sorted"


async def copy_sorted(engine: AsyncEngine, partition: Partition) -> int:
    """A copy of a closed day in (unit, device time) order, keyed and constrained to its day,
    beside the partition; writers are not held up (the copy only reads). Returns its rows."""
    name = _sorted_name(partition)
    lower, upper = partition.lower.isoformat(), partition.upper.isoformat()
    async with engine.begin() as conn:
        await _lock(conn)
        await conn.execute(text("SET LOCAL statement_timeout = 0"))
        await conn.execute(text("SET LOCAL synchronous_commit = off"))
        await conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
        await conn.execute(
            text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        )
        copied = await conn.execute(
            text(
                f"INSERT INTO {name} SELECT * FROM {partition.name} "  # noqa: S608 - names from code
                "ORDER BY unit_id, device_time"
            )
        )
        await conn.execute(text(f"ALTER TABLE {name} ADD PRIMARY KEY (unit_id, device_time)"))
        # Lets ATTACH skip scanning the copy for rows outside the day.
        await conn.execute(
            text(
                f"ALTER TABLE {name} ADD CONSTRAINT {name}_day CHECK "
                f"(device_time >= '{lower}' AND device_time < '{upper}')"
            )
        )
        return int(copied.rowcount)


async def swap_sorted(engine: AsyncEngine, partition: Partition, lock_timeout_ms: int) -> int:
    """Put the sorted copy in place of the day's partition. Under a short exclusive lock of the
    breadcrumbs (position writes queue meanwhile): fixes of that day written since the copy are
    added to it, then the old partition is dropped and the copy attached under its name.
    Returns how many fixes came late."""
    name = _sorted_name(partition)
    lower, upper = partition.lower.isoformat(), partition.upper.isoformat()
    async with engine.begin() as conn:
        await _lock(conn)
        await conn.execute(text(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'"))
        await conn.execute(text("SET LOCAL statement_timeout = 0"))
        await conn.execute(text(f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE"))
        have = await conn.scalar(text(f"SELECT count(*) FROM {partition.name}"))  # noqa: S608
        copy = await conn.scalar(text(f"SELECT count(*) FROM {name}"))  # noqa: S608
        late = 0
        if have != copy:  # nothing deletes from a day but retention, which holds our lock
            added = await conn.execute(
                text(
                    f"INSERT INTO {name} SELECT * FROM {partition.name} "  # noqa: S608
                    "ON CONFLICT DO NOTHING"
                )
            )
            late = int(added.rowcount)
        await conn.execute(text(f"DROP TABLE {partition.name}"))
        await conn.execute(text(f"ALTER TABLE {name} RENAME TO {partition.name}"))
        await conn.execute(text(f"ALTER INDEX {name}_pkey RENAME TO {partition.name}_pkey"))
        await conn.execute(
            text(
                f"ALTER TABLE {PARENT} ATTACH PARTITION {partition.name} "
                f"FOR VALUES FROM ('{lower}') TO ('{upper}')"
            )
        )
        await conn.execute(text(f"ALTER TABLE {partition.name} DROP CONSTRAINT {name}_day"))
        await conn.execute(text(f"COMMENT ON TABLE {partition.name} IS '{COMPACTED}'"))
    return late


@dataclass(frozen=True)
class Compacted:
    """One day rewritten: its rows, the fixes that came while it was copied, and how long
    position writes waited for the swap."""

    partition: Partition
    rows: int
    late: int
    pause_s: float


async def compact(
    engine: AsyncEngine, before: datetime, lock_timeout_ms: int = 2_000
) -> list[Compacted]:
    """Rewrite every day that ended before ``before`` and is not compacted yet in (unit,
    device time) order: one unit's day then lies on a few pages instead of one page per fix
    (the fleet's fixes arrive interleaved), which makes its playback several times faster."""
    async with engine.connect() as conn:
        done = await compacted(conn)
        days = [p for p in await existing(conn) if p.upper <= before and p.name not in done]
    out: list[Compacted] = []
    for partition in days:
        rows = await copy_sorted(engine, partition)
        started = time.perf_counter()
        late = await swap_sorted(engine, partition, lock_timeout_ms)
        pause = time.perf_counter() - started
        log.info(
            "compacted %s (%d rows, %d came meanwhile; writes waited %.2f s)",
            partition.name,
            rows,
            late,
            pause,
        )
        out.append(Compacted(partition, rows, late, pause))
    return out


# --- retention --------------------------------------------------------------------------------

_KEEP_COLUMNS = "p.unit_id, " + ", ".join(f"p.{c}" for c in COLUMNS.split(", ")[1:])


def _keep_sql(source: str, bounded: bool = True) -> str:
    """Copy the rows of ``source`` older than ``:before`` (and from ``:after``, if bounded)
    that fall within an assignment of their unit (from assigned to ended, or still open) into
    ``incident_tracks``."""
    after = "AND p.device_time >= :after AND (a.ended_at IS NULL OR a.ended_at >= :after) "
    return (
        f"INSERT INTO incident_tracks (incident_id, {COLUMNS}) "  # noqa: S608 - names from code
        f"SELECT a.incident_id, {_KEEP_COLUMNS} FROM dispatch_assignments a "
        f"JOIN {source} p ON p.unit_id = a.unit_id AND p.device_time >= a.assigned_at "
        "AND (a.ended_at IS NULL OR p.device_time <= a.ended_at) "
        "WHERE p.device_time < :before AND a.assigned_at < :before "
        f"{after if bounded else ''}"
        "ON CONFLICT DO NOTHING"
    )


@dataclass(frozen=True)
class Retained:
    """What one retention run did."""

    dropped: list[str]
    kept_for_incidents: int
    deleted_from_default: int


async def apply_retention(engine: AsyncEngine, before: datetime) -> Retained:
    """Drop every daily partition older than ``before`` and delete such rows from the default
    partition, after copying the rows of units on incidents into ``incident_tracks``. Each
    partition goes in its own transaction, so a failure leaves the others done."""
    dropped: list[str] = []
    kept = 0
    async with engine.connect() as conn:
        old = partitions.expired(await existing(conn), before)
    for partition in old:
        async with engine.begin() as conn:
            await _lock(conn)
            await conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            copied = await conn.execute(
                text(_keep_sql(partition.name)),
                {"before": partition.upper, "after": partition.lower},
            )
            kept += int(copied.rowcount)
            await conn.execute(text(f"DROP TABLE IF EXISTS {partition.name}"))
        dropped.append(partition.name)
        log.info("retention dropped %s (%d rows kept)", partition.name, copied.rowcount)
    async with engine.begin() as conn:
        await _lock(conn)
        copied = await conn.execute(
            text(_keep_sql(DEFAULT, bounded=False)), {"before": before}
        )
        kept += int(copied.rowcount)
        deleted = await conn.execute(
            text(f"DELETE FROM {DEFAULT} WHERE device_time < :before"),  # noqa: S608
            {"before": before},
        )
    return Retained(dropped, kept, int(deleted.rowcount))


# --- playback ---------------------------------------------------------------------------------

_POINT = (
    "device_time, ST_X(geom) AS lon, ST_Y(geom) AS lat, speed_mps, heading_deg, accuracy_m, "
    "jump, source"
)
_IN_WINDOW = "unit_id = :u AND device_time >= :since AND device_time < :until"


def window_sql(table: str = PARENT) -> str:
    """One unit's fixes in a window, oldest first: a range scan of the (unit, device time)
    index of the one or two daily partitions the window covers."""
    return f"SELECT {_POINT} FROM {table} WHERE {_IN_WINDOW} ORDER BY device_time"  # noqa: S608


# Retention may have moved older fixes to incident_tracks: read both; a fix in both once.
_UNIT_TRACK = text(
    f"SELECT DISTINCT ON (device_time) * FROM (SELECT {_POINT} FROM {PARENT} "  # noqa: S608
    f"WHERE {_IN_WINDOW} UNION ALL SELECT {_POINT} FROM incident_tracks WHERE {_IN_WINDOW}) t "
    "ORDER BY device_time"
)

_INCIDENT_TRACKS = text(
    "SELECT DISTINCT ON (unit_id, device_time) * FROM ("  # noqa: S608 - names from code
    "SELECT p.unit_id, p.device_time, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat, p.speed_mps, "
    "p.heading_deg, p.accuracy_m, p.jump, p.source FROM dispatch_assignments a "
    f"JOIN {PARENT} p ON p.unit_id = a.unit_id AND p.device_time >= a.assigned_at "
    "AND p.device_time <= coalesce(a.ended_at, :now) WHERE a.incident_id = :i "
    f"UNION ALL SELECT unit_id, {_POINT} FROM incident_tracks WHERE incident_id = :i) t "
    "ORDER BY unit_id, device_time"
)
_ASSIGNED = text(
    "SELECT unit_id, assigned_at, ended_at FROM dispatch_assignments WHERE incident_id = :i "
    "ORDER BY assigned_at, unit_id"
)


@dataclass(frozen=True)
class Worked:
    """One unit's time on an incident (``until`` None: still assigned)."""

    unit_id: str
    since: datetime
    until: datetime | None


def _points(rows: Iterable[Sequence[Any]]) -> list[TrackPoint]:
    """Rows of ``_POINT`` as track points (by position: a day of a unit is thousands of rows)."""
    return [
        TrackPoint(lon, lat, at, speed, bool(jump), heading, accuracy, source)
        for at, lon, lat, speed, heading, accuracy, jump, source in rows
    ]


async def unit_track(
    conn: AsyncConnection, unit_id: str, since: datetime, until: datetime
) -> list[TrackPoint]:
    rows = await conn.execute(_UNIT_TRACK, {"u": unit_id, "since": since, "until": until})
    return _points(rows)


async def incident_units(conn: AsyncConnection, incident_id: int) -> list[Worked]:
    rows = await conn.execute(_ASSIGNED, {"i": incident_id})
    return [Worked(r.unit_id, r.assigned_at, r.ended_at) for r in rows]


async def incident_tracks(
    conn: AsyncConnection, incident_id: int, now: datetime
) -> dict[str, list[TrackPoint]]:
    """Each unit's fixes while it was assigned to the incident (to ``now`` if still)."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for unit_id, *point in await conn.execute(_INCIDENT_TRACKS, {"i": incident_id, "now": now}):
        rows.setdefault(unit_id, []).append(tuple(point))
    return {unit_id: _points(found) for unit_id, found in rows.items()}
