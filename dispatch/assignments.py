"""Assignments: a unit working on an incident, with the times of each step (pure).

One row per unit and incident; it is open until the unit is cleared, cancelled, diverted to
another incident or replaced (reassigned). A unit has at most one open assignment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from dispatch.errors import Conflict
from dispatch.units import UnitStatus


class EndReason(StrEnum):
    """Why an assignment ended."""

    CLEARED = "cleared"
    CANCELLED = "cancelled"
    DIVERTED = "diverted"
    REASSIGNED = "reassigned"
    OUT_OF_SERVICE = "out_of_service"


#: Which assignment time a unit status stamps (first time only).
STAMPS: dict[UnitStatus, str] = {
    UnitStatus.EN_ROUTE: "en_route_at",
    UnitStatus.ON_SCENE: "on_scene_at",
    UnitStatus.TRANSPORTING: "transporting_at",
    UnitStatus.AT_HOSPITAL: "at_hospital_at",
}


@dataclass(frozen=True)
class Assignment:
    """One unit on one incident."""

    id: int
    incident_id: int
    unit_id: str
    assigned_at: datetime
    assigned_by: str
    acknowledged_at: datetime | None = None
    en_route_at: datetime | None = None
    on_scene_at: datetime | None = None
    transporting_at: datetime | None = None
    at_hospital_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: EndReason | None = None

    @property
    def open(self) -> bool:
        return self.ended_at is None


def stamp(assignment: Assignment, status: UnitStatus, at: datetime) -> Assignment:
    """The assignment with the time of ``status`` set, unless it was set before."""
    if not assignment.open:
        raise Conflict(
            f"the assignment of unit {assignment.unit_id} to incident "
            f"{assignment.incident_id} has ended ({assignment.end_reason})",
            code="assignment.ended",
            unit_id=assignment.unit_id,
            incident_id=assignment.incident_id,
            end_reason=assignment.end_reason,
        )
    attr = STAMPS.get(status)
    if attr is None or getattr(assignment, attr) is not None:
        return assignment
    changes: dict[str, datetime] = {attr: at}
    if assignment.acknowledged_at is None:
        # Moving on implies the crew got the dispatch.
        changes["acknowledged_at"] = at
    return replace(assignment, **changes)  # type: ignore[arg-type]


def end(assignment: Assignment, reason: EndReason, at: datetime) -> Assignment:
    if not assignment.open:
        raise Conflict(
            f"the assignment of unit {assignment.unit_id} to incident "
            f"{assignment.incident_id} has already ended ({assignment.end_reason})",
            code="assignment.already_ended",
            unit_id=assignment.unit_id,
            incident_id=assignment.incident_id,
            end_reason=assignment.end_reason,
        )
    return replace(assignment, ended_at=at, end_reason=reason)
