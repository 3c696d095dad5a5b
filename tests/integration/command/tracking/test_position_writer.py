"""The batched breadcrumb writer on a real database: batches written and read back, the latest
position never moving backwards, flushing by interval, the bounded queue refusing what it
cannot keep, stop writing what is queued, and nothing lost across a database restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command.tracking.writer import BatchedPositionWriter, PositionsOverloaded, WriterPolicy
from dispatch.avl import store
from dispatch.avl.fixes import Fix
from tests.support import dispatch_builders
from tests.support.database import PgServer

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def _fix(n: int, unit: str = "E1", jump: bool = False, at: datetime | None = None) -> Fix:
    when = at or T0 + timedelta(seconds=n)
    return Fix(
        unit_id=unit,
        lon=9.52 + n * 1e-4,
        lat=47.14 + n * 1e-5,
        device_time=when,
        received_at=when + timedelta(seconds=1),
        source="terminal",
        accuracy_m=5.0,
        speed_mps=12.5,
        heading_deg=90.0,
        altitude_m=450.0,
        battery_pct=80.0,
        seq=n,
        jump=jump,
    )


async def _until(condition: object, limit: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the condition never held")
        await asyncio.sleep(0.01)


async def _stored(engine: AsyncEngine, unit: str = "E1") -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT device_time, ST_X(geom), ST_Y(geom), accuracy_m, speed_mps, heading_deg, "
                "altitude_m, battery_pct, source, jump, seq, received_at FROM unit_positions "
                "WHERE unit_id = :u ORDER BY device_time"
            ),
            {"u": unit},
        )
        return [tuple(r) for r in rows]


async def _latest(engine: AsyncEngine, unit: str = "E1") -> tuple[datetime, float]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT fix_at, ST_X(fix) FROM dispatch_units WHERE id = :u"), {"u": unit}
            )
        ).one()
    return row[0], float(row[1])


@pytest.fixture
async def writer(engine: AsyncEngine) -> AsyncIterator[BatchedPositionWriter]:
    await store.make_ahead(engine, datetime.now(UTC), ahead_days=1)
    await dispatch_builders.add_unit(engine, "E1", "engine")
    await dispatch_builders.add_unit(engine, "E2", "engine")
    w = BatchedPositionWriter(engine, WriterPolicy(batch_size=50, interval_s=0.05))
    await w.start()
    yield w
    await w.stop()


async def test_batches_are_written_and_read_back(
    engine: AsyncEngine, writer: BatchedPositionWriter
) -> None:
    fixes = [_fix(n) for n in range(120)]
    for start in range(0, 120, 7):  # as devices send them: a few at a time
        await writer.write(fixes[start : start + 7])
    await writer.flush()
    rows = await _stored(engine)
    assert len(rows) == 120
    assert writer.batches >= 3  # 120 fixes in batches of at most 50
    first = rows[0]
    assert first[0] == T0
    assert first[1] == pytest.approx(9.52)
    assert first[2] == pytest.approx(47.14)
    assert first[3:11] == (5.0, 12.5, 90.0, 450.0, 80.0, "terminal", False, 0)
    assert first[11] == T0 + timedelta(seconds=1)
    # the unit's latest position is its newest fix
    at, lon = await _latest(engine)
    assert at == fixes[-1].device_time
    assert lon == pytest.approx(fixes[-1].lon)


async def test_a_write_is_answered_once_its_fixes_are_committed(
    engine: AsyncEngine, writer: BatchedPositionWriter
) -> None:
    stored = await writer.write([_fix(n) for n in range(5)])
    assert not stored.done()  # write only queues
    assert await stored == 5
    assert len(await _stored(engine)) == 5  # answered: committed, readable by anyone


async def test_an_acknowledged_batch_is_committed_synchronously(
    engine: AsyncEngine, admin_engine: AsyncEngine, writer: BatchedPositionWriter
) -> None:
    """An ack lets the terminal drop its fixes, so the batch must be on disk, even if the
    database server is killed right after: its transaction may not relax synchronous_commit
    (it did once, and a kill -9 of the postmaster lost an acknowledged fix)."""
    async with admin_engine.begin() as conn:
        await conn.execute(text("CREATE TABLE commit_modes (mode text)"))
        await conn.execute(text("GRANT INSERT ON commit_modes TO PUBLIC"))
        await conn.execute(
            text(
                "CREATE FUNCTION note_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN INSERT INTO commit_modes VALUES (current_setting('synchronous_commit')); "
                "RETURN NULL; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE TRIGGER note_commit_mode AFTER INSERT ON unit_positions "
                "FOR EACH STATEMENT EXECUTE FUNCTION note_commit_mode()"
            )
        )
    assert await (await writer.write([_fix(n) for n in range(3)])) == 3
    async with admin_engine.connect() as conn:
        modes = (await conn.execute(text("SELECT mode FROM commit_modes"))).scalars().all()
    assert modes == ["on"]


async def test_a_replayed_batch_is_stored_once(
    engine: AsyncEngine, writer: BatchedPositionWriter
) -> None:
    batch = [_fix(n) for n in range(10)]
    await writer.write(batch)
    await writer.flush()
    await writer.write(batch)
    await writer.flush()
    assert len(await _stored(engine)) == 10


async def test_the_latest_never_moves_backwards_on_a_late_batch(
    engine: AsyncEngine, writer: BatchedPositionWriter
) -> None:
    await writer.write([_fix(100), _fix(101)])
    await writer.flush()
    late = [_fix(n) for n in range(50)]  # a buffer from before, arriving after
    await writer.write(late)
    await writer.flush()
    at, lon = await _latest(engine)
    assert at == T0 + timedelta(seconds=101)
    assert lon == pytest.approx(_fix(101).lon)
    assert len(await _stored(engine)) == 52


async def test_a_jump_is_stored_but_does_not_move_the_marker(
    engine: AsyncEngine, writer: BatchedPositionWriter
) -> None:
    await writer.write([_fix(1), _fix(2, jump=True)])
    await writer.flush()
    assert [r[9] for r in await _stored(engine)] == [False, True]
    assert (await _latest(engine))[0] == T0 + timedelta(seconds=1)


async def test_a_small_batch_is_written_after_the_interval(
    engine: AsyncEngine, writer: BatchedPositionWriter
) -> None:
    await writer.write([_fix(1, unit="E2")])  # far below the batch size, no flush asked
    await _until(lambda: writer.written == 1)
    assert len(await _stored(engine, "E2")) == 1


async def test_a_full_queue_refuses_new_fixes_and_keeps_the_queued(engine: AsyncEngine) -> None:
    await dispatch_builders.add_unit(engine, "E1", "engine")
    w = BatchedPositionWriter(engine, WriterPolicy(batch_size=100, queue_limit=10))
    await w.write([_fix(n) for n in range(8)])  # not started yet: nothing leaves the queue
    with pytest.raises(PositionsOverloaded) as refused:
        await w.write([_fix(n) for n in range(8, 13)])
    assert refused.value.code == "positions.overloaded"
    assert refused.value.params == {"queued": 8, "limit": 10, "refused": 5}
    assert w.queued == 8
    assert w.refused == 5
    await w.write([_fix(8), _fix(9)])  # what fits is still taken
    await w.start()
    await w.stop()  # stop writes what is queued
    assert [r[10] for r in await _stored(engine)] == list(range(10))


async def test_nothing_queued_is_lost_when_the_database_restarts() -> None:
    server = PgServer()  # its own cluster: the test stops it
    server.start()
    try:
        await server.build_template()
        engine = create_async_engine(server.url(await server.new_database()))
        try:
            await store.make_ahead(engine, datetime.now(UTC), ahead_days=1)
            await dispatch_builders.add_unit(engine, "E1", "engine")
            writer = BatchedPositionWriter(
                engine, WriterPolicy(batch_size=20, interval_s=0.02, retry_max_s=0.2)
            )
            await writer.start()
            await writer.write([_fix(n) for n in range(30)])
            await writer.flush()
            await asyncio.to_thread(server.cluster.stop)
            await writer.write([_fix(n) for n in range(30, 100)])
            await _until(lambda: writer.retries >= 2)
            assert writer.queued == 70  # all of it waits, none dropped
            health = await writer.health()
            assert health.status == "degraded"
            await asyncio.to_thread(server.cluster.start)
            await writer.flush()
            assert writer.dropped == 0
            assert [r[10] for r in await _stored(engine)] == list(range(100))
            assert (await _latest(engine))[0] == T0 + timedelta(seconds=99)
            assert (await writer.health()).status == "ok"
            await writer.stop()
        finally:
            await engine.dispose()
    finally:
        server.stop()
