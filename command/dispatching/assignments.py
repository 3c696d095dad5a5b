"""Assigning units to incidents: send several at once (all or none), call one off, replace one
by another, and what a unit's terminal shows of its current assignment.

Each action is one unit of work; directing actions take the dispatcher's command level (tiered
command, checked under the incident's row lock in ``command.incidents.changes.directed``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from command.dispatching import changes
from command.errors import Conflict, InvalidInput
from command.incidents import changes as incident_changes
from command.incidents import store as incidents_store
from command.incidents.domain import CommandLevel, Incident
from command.unit_of_work import UnitOfWork, Work
from dispatch import store as dispatch_store
from dispatch.assignments import Assignment, EndReason
from dispatch.units import Unit, UnitStatus


@dataclass(frozen=True)
class Assigned:
    incident: Incident
    assignments: list[Assignment]


@dataclass(frozen=True)
class CurrentAssignment:
    """A unit's open assignment, the incident it is for, and the unit's status."""

    assignment: Assignment
    incident: Incident
    unit_status: UnitStatus


class Assignments:
    """The assignment use cases over one database, built once by the bootstrap."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime]) -> None:
        self.work = UnitOfWork(engine, clock)

    async def assign(
        self,
        incident_id: int,
        unit_ids: Sequence[str],
        actor: str,
        *,
        divert: bool = False,
        level: CommandLevel | None = None,
    ) -> Assigned:
        """Send one or several units in one action: all of them, or none (a clear conflict)."""
        ids = [u.strip() for u in unit_ids]
        if not ids:
            raise InvalidInput("name at least one unit to assign", code="assignment.no_units")
        if len(set(ids)) != len(ids):
            raise InvalidInput("a unit is named twice", code="assignment.unit_twice")
        async with self.work.begin(actor) as work:
            inc = await incident_changes.directed(work, incident_id, level)
            changes.check_assignable(inc)
            units = await dispatch_store.get_units(work.conn, ids)
            made = [await self._send(work, inc, unit, divert) for unit in units]
            inc = await incident_changes.follow_unit(work, inc, UnitStatus.DISPATCHED.value)
            callsigns = [u.callsign for u in units]
            await incident_changes.note(
                work,
                inc.id,
                "assigned " + ", ".join(callsigns),
                code="narrative.units_assigned",
                params={"callsigns": callsigns},
            )
            return Assigned(inc, made)

    async def cancel(
        self,
        incident_id: int,
        unit_id: str,
        actor: str,
        reason: str = "",
        *,
        level: CommandLevel | None = None,
    ) -> Unit:
        """Call a unit off an incident; it becomes available."""
        async with self.work.begin(actor) as work:
            inc = await incident_changes.directed(work, incident_id, level)
            a = await self._open_assignment_on(work, inc, unit_id)
            unit = await changes.release(
                work,
                a,
                UnitStatus.AVAILABLE,
                EndReason.CANCELLED,
                reason or f"cancelled from {inc.number}",
            )
            await incident_changes.after_unit_left(work, inc)
            return unit

    async def reassign(
        self,
        incident_id: int,
        from_unit: str,
        to_unit: str,
        actor: str,
        *,
        divert: bool = False,
        level: CommandLevel | None = None,
    ) -> Assigned:
        """Replace one unit by another on an incident, in one transaction."""
        if from_unit == to_unit:
            raise InvalidInput(
                "reassign to a different unit", code="assignment.same_unit", unit_id=to_unit
            )
        async with self.work.begin(actor) as work:
            inc = await incident_changes.directed(work, incident_id, level)
            changes.check_assignable(inc)
            a = await self._open_assignment_on(work, inc, from_unit)
            await changes.release(
                work,
                a,
                UnitStatus.AVAILABLE,
                EndReason.REASSIGNED,
                f"replaced by {to_unit} on {inc.number}",
            )
            [unit] = await dispatch_store.get_units(work.conn, [to_unit])
            made = await self._send(work, inc, unit, divert)
            await incident_changes.note(
                work,
                inc.id,
                f"reassigned: {unit.callsign} replaces {from_unit}",
                code="narrative.unit_replaced",
                params={"callsign": unit.callsign, "unit_id": unit.id, "replaced": from_unit},
            )
            return Assigned(inc, [made])

    async def _send(self, work: Work, inc: Incident, unit: Unit, divert: bool) -> Assignment:
        """One unit on its way (the step where two dispatchers can race for the same unit)."""
        return await changes.dispatch_one(work, inc, unit, divert)

    @staticmethod
    async def _open_assignment_on(work: Work, inc: Incident, unit_id: str) -> Assignment:
        a = await dispatch_store.open_assignment(work.conn, unit_id)
        if a is None or a.incident_id != inc.id:
            await dispatch_store.get_unit(work.conn, unit_id)  # NotFound for an unknown unit
            raise Conflict(
                f"unit {unit_id} is not assigned to incident {inc.number}",
                code="assignment.not_on_incident",
                unit_id=unit_id,
                number=inc.number,
            )
        return a

    async def current(self, unit_id: str) -> CurrentAssignment | None:
        """What a unit's terminal shows: its open assignment and the incident it is for."""
        async with self.work.read() as conn:
            unit = await dispatch_store.get_unit(conn, unit_id)
            a = await dispatch_store.open_assignment(conn, unit.id)
            if a is None:
                return None
            inc = await incidents_store.get(conn, a.incident_id)
            return CurrentAssignment(a, inc, unit.status)
