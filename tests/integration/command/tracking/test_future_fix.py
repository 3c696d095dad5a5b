"""Through the tracking service to the database: one fix dated in the future is refused and
the marker keeps moving with the fixes after it (Traccar's frozen-marker complaint)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.tracking.fences import FenceBook
from command.tracking.service import Tracking
from command.tracking.writer import BatchedPositionWriter, WriterPolicy
from dispatch.avl import store
from dispatch.avl.fixes import Fix, Reported
from tests.support import dispatch_builders
from tests.support.services import services


class Published:
    """The consoles' side, which this test does not look at: what was relayed."""

    def __init__(self) -> None:
        self.fixes: list[Fix] = []

    async def publish(self, fixes: Sequence[Fix]) -> None:
        self.fixes.extend(fixes)


async def test_a_future_fix_is_refused_and_the_marker_still_moves(engine: AsyncEngine) -> None:
    parts = services(engine)
    now = parts.clock()
    await store.make_ahead(engine, now, ahead_days=1)
    await dispatch_builders.add_unit(engine, "E1", "engine")
    writer = BatchedPositionWriter(engine, WriterPolicy(batch_size=10, interval_s=0.02))
    await writer.start()
    relay = Published()
    tracking = Tracking(engine, parts.clock, writer, relay, FenceBook(engine), parts.unit_status)

    def at(seconds: float, east: float) -> tuple[Reported, int | None]:
        when = now + timedelta(seconds=seconds)
        return Reported(lat=47.14, lon=9.52 + east, device_time=when), None

    first = await tracking.report("E1", [at(-20, 0.0)], "terminal")
    assert first.accepted == 1
    future = await tracking.report("E1", [at(3600, 0.001)], "terminal")
    assert future.accepted == 0
    assert [r.code for r in future.refused] == ["position.time_in_future"]
    later = await tracking.report("E1", [at(-10, 0.0005), at(-5, 0.001)], "terminal")
    assert later.accepted == 2
    await writer.flush()
    await writer.stop()
    async with engine.connect() as conn:
        fix_at = await conn.scalar(text("SELECT fix_at FROM dispatch_units WHERE id = 'E1'"))
        stored = await conn.scalar(text("SELECT count(*) FROM unit_positions"))
        future_stored = await conn.scalar(
            text("SELECT count(*) FROM unit_positions WHERE device_time > now()")
        )
    assert fix_at == now + timedelta(seconds=-5)
    assert stored == 3
    assert future_stored == 0
    assert len(relay.fixes) == 3
