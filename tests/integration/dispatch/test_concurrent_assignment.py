"""Two dispatchers assigning the same unit at the same moment: exactly one wins.

Both transactions are real and overlap for sure: each pauses after reading the unit (both see
it available at the same version) until the other has read it too; then both write.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from command.bootstrap import Container
from command.clock import Clock
from command.dispatching.assignments import Assignments
from command.errors import Conflict as CommandConflict
from command.incidents.domain import Incident
from command.incidents.service import NewIncident
from command.unit_of_work import Work
from dispatch.assignments import Assignment
from dispatch.errors import Conflict
from dispatch.units import Unit
from tests.support import dispatch_builders as b


class RacingAssignments(Assignments):
    """The real service, with a meeting point inside the transaction."""

    def __init__(self, engine: AsyncEngine, barrier: asyncio.Barrier) -> None:
        super().__init__(engine, Clock())
        self.barrier = barrier

    async def _send(self, work: Work, inc: Incident, unit: Unit, divert: bool) -> Assignment:
        await asyncio.wait_for(self.barrier.wait(), 10)
        return await super()._send(work, inc, unit, divert)


async def _incident(parts: Container, at: tuple[float, float]) -> int:
    created = await parts.incidents.create(NewIncident("fire.structure", *at), "user:ct1")
    return created.incident.id


async def test_exactly_one_of_two_concurrent_assignments_wins(
    map_engine: AsyncEngine, parts: Container
) -> None:
    await b.add_unit(map_engine, "E1", "engine", b.VADUZ_CENTRE)
    a = await _incident(parts, b.VADUZ_CENTRE)
    c = await _incident(parts, b.SCHAAN_CENTRE)
    events_before = await b.count(map_engine, "events")
    barrier = asyncio.Barrier(2)
    one = RacingAssignments(map_engine, barrier)
    two = RacingAssignments(map_engine, barrier)
    results = await asyncio.gather(
        one.assign(a, ["E1"], "user:disp1"),
        two.assign(c, ["E1"], "user:disp2"),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, BaseException)]
    assert len(wins) == 1
    assert len(losses) == 1
    [loss] = losses
    assert isinstance(loss, Conflict)
    assert loss.kind == "conflict"
    assert "was changed by someone else meanwhile" in loss.message
    assert "reload and try again" in loss.message

    winner = wins[0].incident.id
    loser = c if winner == a else a
    unit = await parts.unit_status.unit("E1")
    assert unit.status == "dispatched"
    assert unit.incident_id == winner
    assert unit.version == 2
    assert await b.count(map_engine, "dispatch_assignments") == 1
    lost = await parts.incidents.get(loser)
    assert lost.status == "new"
    assert lost.dispatched_at is None
    assert await b.event_types(map_engine, "incident", str(loser)) == ["incident.created"]
    assert await b.count(map_engine, "events") == events_before + 3  # unit, assigned, status


async def test_the_later_dispatcher_is_told_the_unit_is_busy(
    map_engine: AsyncEngine, parts: Container
) -> None:
    await b.add_unit(map_engine, "E1", "engine", b.VADUZ_CENTRE)
    a = await _incident(parts, b.VADUZ_CENTRE)
    c = await _incident(parts, b.SCHAAN_CENTRE)
    await parts.assignments.assign(a, ["E1"], "user:disp1")
    with pytest.raises(Conflict, match=r"busy \(dispatched at incident \d+\); divert it"):
        await parts.assignments.assign(c, ["E1"], "user:disp2")


async def test_many_dispatchers_racing_for_the_same_units(
    map_engine: AsyncEngine, parts: Container
) -> None:
    """Eight dispatchers, eight incidents, the same three units: each unit goes exactly once."""
    for uid in ("E1", "E2", "E3"):
        await b.add_unit(map_engine, uid, "engine", b.VADUZ_CENTRE)
    incidents = [await _incident(parts, b.VADUZ_CENTRE) for _ in range(8)]
    results = await asyncio.gather(
        *(
            Assignments(map_engine, Clock()).assign(
                i, ["E1", "E2", "E3"][k % 3 :][:1], f"user:d{k}"
            )
            for k, i in enumerate(incidents)
        ),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, (Conflict, CommandConflict)) for e in errors), errors
    assert len(wins) == 3
    assert await b.count(map_engine, "dispatch_assignments") == 3
    units = {u.id: u for u in await parts.unit_status.units()}
    assert {u.incident_id for u in units.values()} == {w.incident.id for w in wins}
