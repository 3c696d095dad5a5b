"""Retention drops whole days of breadcrumbs, and the positions of units while they worked an
incident are kept with the incident (``incident_tracks``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.clock import Clock
from command.tracking.maintenance import PositionMaintenance
from dispatch.avl import store
from tests.support import track_builders as tb

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
TEN_MIN = timedelta(minutes=10)


def _day(d: int) -> datetime:
    return datetime(2026, 11, d, tzinfo=UTC)


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(sql)))


async def test_old_days_are_dropped_and_incident_tracks_kept(engine: AsyncEngine) -> None:
    for d in (21, 23, 30):  # partitions from 20 to 24 November, and 29 Nov to 1 December
        await store.make_ahead(engine, _day(d), ahead_days=1)
    for u in ("E1", "E2"):
        await tb.unit(engine, u)
        await tb.write(engine, tb.every(u, _day(21), _day(22) - TEN_MIN, TEN_MIN))  # 144 a day
        await tb.write(engine, tb.every(u, _day(30), _day(30) + timedelta(hours=1), TEN_MIN))
        await tb.write(engine, [tb.fix(u, datetime(2026, 10, 1, tzinfo=UTC))])  # in the default
    fire = await tb.incident(engine, _day(21))
    # E1 worked the fire for an hour; E2 was assigned late that night and never cleared
    await tb.assignment(
        engine, fire, "E1", _day(21) + timedelta(hours=8), _day(21) + timedelta(hours=9)
    )
    await tb.assignment(engine, fire, "E2", _day(21) + timedelta(hours=23), None)
    assert await _count(engine, "SELECT count(*) FROM unit_positions_default") == 2

    upkeep = PositionMaintenance(
        engine, _clock_at(NOW), ahead_days=1, retention_days=7, every_s=3600
    )
    done = await upkeep.run_once()

    assert done.retained.dropped == [
        f"unit_positions_p202611{d}" for d in (20, 21, 22, 23, 24)
    ]  # every day before 25 November, 10:00
    assert [p.name for p in done.made] == ["unit_positions_p20261202", "unit_positions_p20261203"]
    assert done.retained.deleted_from_default == 2
    # the days that are over (six hours ago) are rewritten in unit order
    assert [c.partition.name for c in done.compacted] == [
        "unit_positions_p20261129",
        "unit_positions_p20261130",
        "unit_positions_p20261201",
    ]
    left = await _count(engine, "SELECT count(*) FROM unit_positions")
    assert left == 2 * 7  # 30 November, 00:00 to 01:00, both units
    async with engine.connect() as conn:
        kept = (
            await conn.execute(
                text(
                    "SELECT unit_id, min(device_time), max(device_time), count(*), "
                    "bool_and(incident_id = :i) FROM incident_tracks GROUP BY unit_id "
                    "ORDER BY unit_id"
                ),
                {"i": fire},
            )
        ).all()
    assert [tuple(r) for r in kept] == [
        ("E1", _day(21) + timedelta(hours=8), _day(21) + timedelta(hours=9), 7, True),
        # the open assignment keeps everything since it began (to the end of the 21st here)
        ("E2", _day(21) + timedelta(hours=23), _day(22) - TEN_MIN, 6, True),
    ]
    # once more: nothing left to drop, nothing copied twice
    again = await upkeep.run_once()
    assert again.retained.dropped == []
    assert again.made == []
    assert again.compacted == []
    assert await _count(engine, "SELECT count(*) FROM incident_tracks") == 13


async def test_a_default_row_on_an_incident_is_kept_before_it_is_deleted(
    engine: AsyncEngine,
) -> None:
    await tb.unit(engine, "E1")
    long_ago = datetime(2026, 6, 1, 12, tzinfo=UTC)
    await tb.write(engine, [tb.fix("E1", long_ago), tb.fix("E1", long_ago + DAY)])
    fire = await tb.incident(engine, long_ago)
    await tb.assignment(engine, fire, "E1", long_ago - TEN_MIN, long_ago + TEN_MIN)
    done = await store.apply_retention(engine, NOW - 30 * DAY)
    assert (done.kept_for_incidents, done.deleted_from_default) == (1, 2)
    assert await _count(engine, "SELECT count(*) FROM incident_tracks") == 1


def _clock_at(at: datetime) -> Clock:
    clock = Clock()
    clock.advance(at - clock())
    return clock
