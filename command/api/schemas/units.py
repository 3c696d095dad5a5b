"""Unit bodies: a unit as the board shows it, the board with its timer alerts, and what a
unit's terminal reads and reports."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from datetime import datetime

from pydantic import BaseModel, Field

from command.api.schemas.common import Model, PointOut
from command.api.schemas.incidents import AssignmentOut
from command.dispatching.unit_status import Board
from dispatch.timers import StatusAlert
from dispatch.units import UNIT_TYPES, Unit


class StatusIn(BaseModel):
    status: str
    reason: str = Field(default="", max_length=2000)


class MessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class MessageSentOut(Model):
    """A dispatcher's message to a unit's terminals (pushed to every open one)."""

    unit_id: str
    text: str


class UnitOut(Model):
    id: str
    callsign: str
    unit_type: str
    unit_type_names: dict[str, str] = Field(
        description="the unit type's name per language (zh-CN, en); empty for a type of "
        "the region's own"
    )
    station_id: str | None
    capabilities: list[str]
    crew: int
    status: str
    status_since: datetime
    incident_id: int | None
    incident_number: str | None
    acknowledged_at: datetime | None
    position: PointOut | None
    position_at: datetime | None
    station_position: PointOut | None
    version: int

    @classmethod
    def of(
        cls,
        unit: Unit,
        numbers: dict[int, str] | None = None,
        withheld: AbstractSet[int] = frozenset(),
    ) -> UnitOut:
        """``withheld``: sensitive incidents the reader may not read, shown as none."""
        incident_id = None if unit.incident_id in withheld else unit.incident_id
        return cls(
            id=unit.id,
            callsign=unit.callsign,
            unit_type=unit.unit_type,
            unit_type_names=dict(kind.names) if (kind := UNIT_TYPES.get(unit.unit_type)) else {},
            station_id=unit.station_id,
            capabilities=sorted(c.value for c in unit.capabilities),
            crew=unit.crew,
            status=unit.status.value,
            status_since=unit.status_since,
            incident_id=incident_id,
            incident_number=(numbers or {}).get(incident_id or -1),
            acknowledged_at=unit.acknowledged_at,
            position=None if unit.fix is None else PointOut(lon=unit.fix.lon, lat=unit.fix.lat),
            position_at=unit.fix_at,
            station_position=None
            if unit.station_position is None
            else PointOut(lon=unit.station_position.lon, lat=unit.station_position.lat),
            version=unit.version,
        )


class AlertOut(Model):
    unit_id: str
    code: str = Field(description="the timer: not_acknowledged, turnout, on_scene ...")
    status: str
    since: datetime
    limit_s: float
    elapsed_s: float
    incident_id: int | None
    incident_number: str | None

    @classmethod
    def of(
        cls, a: StatusAlert, numbers: dict[int, str], withheld: AbstractSet[int] = frozenset()
    ) -> AlertOut:
        incident_id = None if a.incident_id in withheld else a.incident_id
        return cls(
            unit_id=a.unit_id,
            code=a.code,
            status=a.status.value,
            since=a.since,
            limit_s=a.limit_s,
            elapsed_s=round(a.elapsed_s, 1),
            incident_id=incident_id,
            incident_number=numbers.get(incident_id or -1),
        )


class BoardOut(Model):
    at: datetime
    counts: dict[str, int]
    units: list[UnitOut]
    alerts: list[AlertOut]

    @classmethod
    def of(cls, board: Board, withheld: AbstractSet[int] = frozenset()) -> BoardOut:
        return cls(
            at=board.at,
            counts=board.counts,
            units=[UnitOut.of(u, board.numbers, withheld) for u in board.units],
            alerts=[AlertOut.of(a, board.numbers, withheld) for a in board.alerts],
        )


class TerminalIncidentOut(Model):
    """What a unit's crew needs to know of its incident."""

    id: int
    number: str
    type: str
    type_names: dict[str, str]
    priority: int
    status: str
    lon: float
    lat: float
    address: str
    cross_streets: str
    summary: str


class CurrentAssignmentOut(Model):
    """The unit's open assignment with its incident; both null when it has none."""

    assignment: AssignmentOut | None
    unit_status: str | None = None
    incident: TerminalIncidentOut | None


class AcknowledgedOut(Model):
    unit_id: str
    incident_id: int
    acknowledged_at: datetime | None
