"""Daily partitions of the breadcrumbs: made ahead, and a day's rows waiting in the default
partition moved into it when that day is made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.avl import store
from dispatch.avl.fixes import Fix
from dispatch.avl.partitions import Partition

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _fix(at: datetime, unit: str = "E1") -> Fix:
    return Fix(unit, 9.52, 47.14, at, at, "terminal")


async def _where(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tableoid::regclass::text, count(*) FROM unit_positions GROUP BY 1")
        )
        return {str(name): int(n) for name, n in rows}


async def test_partitions_are_made_ahead_once(engine: AsyncEngine) -> None:
    made = await store.make_ahead(engine, NOW, ahead_days=2)
    assert [p.name for p in made] == [
        "unit_positions_p20261201",
        "unit_positions_p20261202",
        "unit_positions_p20261203",
        "unit_positions_p20261204",
    ]
    assert await store.make_ahead(engine, NOW, ahead_days=2) == []
    async with engine.begin() as conn:
        await store.write_batch(conn, [_fix(NOW), _fix(NOW + timedelta(days=1))])
    assert await _where(engine) == {"unit_positions_p20261202": 1, "unit_positions_p20261203": 1}


async def test_rows_in_the_default_partition_move_into_their_new_day(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        fixes = [_fix(NOW), _fix(NOW + timedelta(hours=1)), _fix(NOW - timedelta(days=9))]
        await store.write_batch(conn, fixes)
    assert await _where(engine) == {"unit_positions_default": 3}
    await store.make_ahead(engine, NOW, ahead_days=1)
    assert await _where(engine) == {"unit_positions_p20261202": 2, "unit_positions_default": 1}
    async with engine.connect() as conn:
        assert Partition(NOW.date()) in await store.existing(conn)
        # the moved-into table is a partition like the others: it has the primary key
        keys = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_indexes WHERE tablename = 'unit_positions_p20261202'"
            )
        )
    assert keys == 1
