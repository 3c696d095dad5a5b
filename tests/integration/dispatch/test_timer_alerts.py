"""Status timer alerts become events once per stuck status, and reach consoles live."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.bootstrap import Container
from command.dispatching.timers import raise_overdue
from command.incidents.service import NewIncident
from dispatch.timers import StatusLimits
from dispatch.units import UnitStatus
from tests.support import dispatch_builders as b
from tests.support.live import serve


async def _alerts(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT subject_id, data->>'code' AS code FROM events "
                "WHERE type = 'unit.timer_overdue' ORDER BY seq"
            )
        )
        return [(r.subject_id, r.code) for r in rows]


async def test_one_event_per_stuck_status(map_engine: AsyncEngine, parts: Container) -> None:
    for uid in ("E1", "E2"):
        await b.add_unit(map_engine, uid, "engine", b.VADUZ_CENTRE)
    inc = (await parts.incidents.create(NewIncident("fire", *b.VADUZ_CENTRE), "user:ct1")).incident
    await parts.assignments.assign(inc.id, ["E1", "E2"], "user:d1")
    await parts.unit_status.acknowledge("E2", "device:E2")
    limits = StatusLimits()
    now = datetime.now(UTC)
    assert await raise_overdue(map_engine, limits, now + timedelta(seconds=30)) == []
    assert len(await raise_overdue(map_engine, limits, now + timedelta(seconds=70))) == 1
    assert await _alerts(map_engine) == [("E1", "not_acknowledged")]
    # the same stuck status is not raised twice
    assert await raise_overdue(map_engine, limits, now + timedelta(seconds=75)) == []
    # E2 acknowledged but still not en route after the turnout limit; E1 still stuck
    await raise_overdue(map_engine, limits, now + timedelta(seconds=90))
    assert await _alerts(map_engine) == [("E1", "not_acknowledged"), ("E2", "turnout")]
    # a new status restarts its timer: en route for 15 minutes and more
    await parts.unit_status.report("E1", UnitStatus.EN_ROUTE, "device:E1")
    await raise_overdue(map_engine, limits, now + timedelta(minutes=16))
    assert ("E1", "en_route") in await _alerts(map_engine)


async def test_the_running_app_raises_alerts_by_itself(
    map_url: str, map_engine: AsyncEngine, parts: Container
) -> None:
    await b.add_unit(map_engine, "E1", "engine", b.VADUZ_CENTRE)
    inc = (await parts.incidents.create(NewIncident("fire", *b.VADUZ_CENTRE), "user:ct1")).incident
    await parts.assignments.assign(inc.id, ["E1"], "user:d1")
    async with serve(map_url) as app:
        app.advance(timedelta(seconds=61))
        for _ in range(100):
            if await _alerts(map_engine):
                break
            await asyncio.sleep(0.1)
    assert await _alerts(map_engine) == [("E1", "not_acknowledged")]
