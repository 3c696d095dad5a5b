"""Compaction rewrites a closed day in (unit, device time) order, under its own name, as a
partition like the others; fixes written while the copy was made are not lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.avl import store
from dispatch.avl.partitions import Partition
from tests.support import track_builders as tb

DAY = Partition(datetime(2026, 11, 20, tzinfo=UTC).date())
MINUTE = timedelta(minutes=1)


async def _rows_in_place(engine: AsyncEngine) -> list[tuple[str, datetime]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(f"SELECT unit_id, device_time FROM {DAY.name} ORDER BY ctid")
        )
        return [(r.unit_id, r.device_time) for r in rows]


async def test_a_day_is_rewritten_in_unit_order_and_keeps_late_fixes(engine: AsyncEngine) -> None:
    await store.make_ahead(engine, DAY.lower + timedelta(days=1), ahead_days=0)
    # the fleet reports interleaved: minute by minute, every unit
    fleet = [f"E{u}" for u in range(5)]
    for minute in range(20):
        at = DAY.lower + timedelta(hours=8) + minute * MINUTE
        await tb.write(engine, [tb.fix(u, at) for u in fleet])
    before = await _rows_in_place(engine)
    assert [u for u, _ in before[:5]] == fleet  # one unit's fixes are spread over the table

    assert await store.copy_sorted(engine, DAY) == 100
    # while the copy waited to be put in place, late fixes of that day came in
    late = [tb.fix("E9", DAY.lower + timedelta(hours=2)), tb.fix("E1", DAY.lower)]
    await tb.write(engine, late)
    assert await store.swap_sorted(engine, DAY, lock_timeout_ms=2_000) == 2

    after = await _rows_in_place(engine)
    assert sorted(after) == sorted([*before, *((f.unit_id, f.device_time) for f in late)])
    # in (unit, device time) order on disk, the late ones after them
    assert after[:100] == sorted(before)
    assert sorted(after[100:]) == sorted((f.unit_id, f.device_time) for f in late)
    async with engine.connect() as conn:
        assert DAY in await store.existing(conn)
        assert DAY.name in await store.compacted(conn)
        indexes = (
            await conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = :t"), {"t": DAY.name}
            )
        ).scalars()
        assert list(indexes) == [f"{DAY.name}_pkey"]
        checks = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) "
                "AND contype = 'c'"
            ),
            {"t": DAY.name},
        )
        assert checks == 0
    # still a partition like the others: fixes of that day go there, replays are stored once
    await tb.write(engine, [tb.fix("E9", DAY.lower + timedelta(hours=3)), late[0]])
    assert len(await _rows_in_place(engine)) == 103
    # done once: only the other day is left to compact
    again = await store.compact(engine, DAY.upper + timedelta(days=5))
    assert [c.partition.name for c in again] == ["unit_positions_p20261121"]


async def test_compact_takes_only_days_that_are_over(engine: AsyncEngine) -> None:
    await store.make_ahead(engine, DAY.lower + timedelta(days=1), ahead_days=0)
    await tb.write(engine, [tb.fix("E1", DAY.lower + MINUTE)])
    assert await store.compact(engine, DAY.upper - MINUTE) == []
    [done] = await store.compact(engine, DAY.upper)
    assert (done.partition, done.rows, done.late) == (DAY, 1, 0)
    assert len(await _rows_in_place(engine)) == 1
