"""Changes to units and assignments inside an open unit of work, shared by the use cases.

Sending one unit to an incident (diverting it from another when allowed), releasing a unit from
its assignment, and the events both emit. The unit's status rule is ``dispatch.units.transition``
(pure); this module saves what it decides and says what followed for the incidents involved.
"""

from __future__ import annotations

from typing import Any

from command.errors import Conflict
from command.events import NewEvent
from command.incidents import changes as incident_changes
from command.incidents import store as incidents_store
from command.incidents.changes import incident_event
from command.incidents.domain import Incident
from command.unit_of_work import Work
from dispatch import store as dispatch_store
from dispatch.assignments import Assignment, EndReason, end
from dispatch.units import ASSIGNED, DIVERTIBLE, Unit, UnitStatus, UnitStatusChanged, transition


def unit_event(ev: UnitStatusChanged, actor: str, **extra: Any) -> NewEvent:
    return NewEvent(
        "unit.status_changed",
        "unit",
        ev.unit_id,
        {
            "from": ev.from_status.value,
            "to": ev.to_status.value,
            "at": ev.at.isoformat(),
            "incident_id": ev.incident_id,
            "reason": ev.reason,
            **extra,
        },
        actor,
    )


def assignment_ended(
    incident_id: int, unit_id: str, why: EndReason, actor: str, **extra: Any
) -> NewEvent:
    return NewEvent(
        "assignment.ended",
        "incident",
        str(incident_id),
        {"unit_id": unit_id, "reason": why.value, **extra},
        actor,
    )


def check_assignable(inc: Incident) -> None:
    incident_changes.check_not_merged(inc, "assign units")
    if not inc.open:
        raise Conflict(
            f"incident {inc.number} is {inc.status}; reopen it before assigning units",
            code="incident.not_open",
            number=inc.number,
            status=inc.status.value,
        )


async def dispatch_one(work: Work, inc: Incident, unit: Unit, divert: bool) -> Assignment:
    """Send ``unit`` to ``inc``; a unit busy elsewhere moves only when ``divert`` allows it."""
    if unit.incident_id == inc.id and unit.status in ASSIGNED:
        raise Conflict(
            f"unit {unit.callsign} is already assigned to incident {inc.number}",
            code="unit.already_assigned",
            unit_id=unit.id,
            callsign=unit.callsign,
            number=inc.number,
        )
    previous = await dispatch_store.open_assignment(work.conn, unit.id)
    diverting = unit.status in DIVERTIBLE
    moved, ev = transition(
        unit,
        UnitStatus.DISPATCHED,
        work.now,
        incident_id=inc.id,
        divert=divert,
        reason=f"diverted to {inc.number}" if diverting else "",
    )
    saved = await dispatch_store.save_unit(work.conn, unit, moved)
    if previous is not None:
        await dispatch_store.save_assignment(work.conn, end(previous, EndReason.DIVERTED, work.now))
        await incident_changes.note(
            work,
            previous.incident_id,
            f"{unit.callsign} diverted to incident {inc.number}",
            code="narrative.unit_diverted",
            params={"callsign": unit.callsign, "unit_id": unit.id, "number": inc.number},
        )
        work.emit(
            assignment_ended(
                previous.incident_id,
                unit.id,
                EndReason.DIVERTED,
                work.actor,
                diverted_to=inc.id,
            )
        )
        left = await incidents_store.get(work.conn, previous.incident_id, lock=True)
        await incident_changes.after_unit_left(work, left)
    await dispatch_store.record_status(work.conn, ev, work.actor)
    a = await dispatch_store.insert_assignment(work.conn, inc.id, saved.id, work.now, work.actor)
    work.emit(
        unit_event(ev, work.actor, callsign=unit.callsign, incident_number=inc.number),
        incident_event(
            "unit_assigned",
            inc,
            work.actor,
            unit_id=unit.id,
            callsign=unit.callsign,
            assignment_id=a.id,
            diverted=diverting,
        ),
    )
    return a


async def release(work: Work, a: Assignment, to: UnitStatus, why: EndReason, reason: str) -> Unit:
    """End the assignment and move its unit to ``to`` (available, out of service ...)."""
    unit = await dispatch_store.get_unit(work.conn, a.unit_id)
    moved, ev = transition(unit, to, work.now, reason=reason)
    saved = await dispatch_store.save_unit(work.conn, unit, moved)
    await dispatch_store.record_status(work.conn, ev, work.actor)
    await dispatch_store.save_assignment(work.conn, end(a, why, work.now))
    work.emit(
        unit_event(ev, work.actor, callsign=unit.callsign),
        assignment_ended(a.incident_id, unit.id, why, work.actor),
    )
    return saved
