"""Units, unit types, capabilities, stations, and the unit status machine (no I/O).

A unit is a vehicle or field team that can be dispatched; its home is a station. What a unit can
do is a set of capabilities, which a run card or a contingency plan asks for in counts. A unit
type gives the usual capabilities and crew of its kind (an ALS ambulance also serves a BLS call;
a quint is both an engine and a ladder).

The status machine allows only the transitions in ``TRANSITIONS``; anything else raises
``InvalidTransition`` naming both statuses (kind ``conflict``, HTTP 409).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from dispatch.errors import InvalidInput, InvalidTransition


class Capability(StrEnum):
    """What a unit can do, as run cards and plans ask for it."""

    ENGINE = "engine"
    LADDER = "ladder"
    TANKER = "tanker"
    HEAVY_RESCUE = "heavy_rescue"
    AMBULANCE_ALS = "ambulance_als"
    AMBULANCE_BLS = "ambulance_bls"
    POLICE_PATROL = "police_patrol"
    HAZMAT = "hazmat"
    WATER_RESCUE = "water_rescue"
    COMMAND_VEHICLE = "command_vehicle"
    PUBLIC_HEALTH = "public_health"


def parse_capability(value: str) -> Capability:
    """The capability named ``value``, or a clear error listing the known ones."""
    try:
        return Capability(value)
    except ValueError:
        known = [c.value for c in Capability]
        raise InvalidInput(
            f"unknown capability {value!r}; known: {', '.join(known)}",
            code="capability.unknown",
            capability=value,
            known=known,
        ) from None


def parse_capabilities(values: Iterable[str]) -> frozenset[Capability]:
    return frozenset(parse_capability(v) for v in values)


@dataclass(frozen=True)
class UnitType:
    """A kind of unit with its usual capabilities and crew."""

    code: str
    names: Mapping[str, str]
    capabilities: frozenset[Capability]
    default_crew: int

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.code


def _type(code: str, zh: str, en: str, crew: int, *caps: Capability) -> UnitType:
    return UnitType(code, {"zh-CN": zh, "en": en}, frozenset(caps), crew)


C = Capability
UNIT_TYPES: dict[str, UnitType] = {
    t.code: t
    for t in (
        _type("engine", "水罐消防车", "Engine", 4, C.ENGINE),
        _type("ladder", "云梯消防车", "Ladder truck", 4, C.LADDER),
        _type("quint", "多功能消防车", "Quint", 4, C.ENGINE, C.LADDER),
        _type("tanker", "供水消防车", "Water tanker", 2, C.TANKER),
        _type("rescue", "抢险救援车", "Heavy rescue", 4, C.HEAVY_RESCUE),
        _type(
            "ambulance_als", "监护型救护车", "ALS ambulance", 3, C.AMBULANCE_ALS, C.AMBULANCE_BLS
        ),
        _type("ambulance_bls", "普通型救护车", "BLS ambulance", 2, C.AMBULANCE_BLS),
        _type("police_patrol", "巡逻警车", "Police patrol car", 2, C.POLICE_PATROL),
        _type("hazmat", "危化品处置车", "Hazmat unit", 4, C.HAZMAT),
        _type("water_rescue", "水域救援车", "Water rescue unit", 4, C.WATER_RESCUE),
        _type("command_vehicle", "移动指挥车", "Mobile command vehicle", 3, C.COMMAND_VEHICLE),
        _type("public_health", "卫生应急车", "Public health unit", 2, C.PUBLIC_HEALTH),
    )
}
del C


def unit_type(code: str, types: Mapping[str, UnitType] = UNIT_TYPES) -> UnitType:
    """The unit type ``code``, or a clear error listing the known ones."""
    try:
        return types[code]
    except KeyError:
        raise InvalidInput(
            f"unknown unit type {code!r}; known: {', '.join(sorted(types))}",
            code="unit_type.unknown",
            unit_type=code,
            known=sorted(types),
        ) from None


class UnitStatus(StrEnum):
    """Where a unit is in its work cycle."""

    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    TRANSPORTING = "transporting"
    AT_HOSPITAL = "at_hospital"
    RETURNING = "returning"
    OUT_OF_SERVICE = "out_of_service"


S = UnitStatus
#: Every allowed status change. Going back to ``available`` from an assignment means the unit
#: was cancelled or cleared; ``dispatched`` from a busy status is a diversion and is only allowed
#: when asked for explicitly (``divert=True``), except from ``returning``.
TRANSITIONS: dict[UnitStatus, frozenset[UnitStatus]] = {
    S.AVAILABLE: frozenset({S.DISPATCHED, S.OUT_OF_SERVICE}),
    S.DISPATCHED: frozenset({S.EN_ROUTE, S.ON_SCENE, S.AVAILABLE, S.OUT_OF_SERVICE}),
    S.EN_ROUTE: frozenset({S.ON_SCENE, S.AVAILABLE, S.OUT_OF_SERVICE}),
    S.ON_SCENE: frozenset({S.TRANSPORTING, S.RETURNING, S.AVAILABLE}),
    S.TRANSPORTING: frozenset({S.AT_HOSPITAL}),
    S.AT_HOSPITAL: frozenset({S.RETURNING, S.AVAILABLE}),
    S.RETURNING: frozenset({S.AVAILABLE, S.DISPATCHED, S.OUT_OF_SERVICE}),
    S.OUT_OF_SERVICE: frozenset({S.AVAILABLE}),
}
#: Busy statuses from which a unit may be sent to another incident, only when asked explicitly.
DIVERTIBLE: frozenset[UnitStatus] = frozenset({S.DISPATCHED, S.EN_ROUTE, S.ON_SCENE})
#: Statuses in which a unit works on an incident.
ASSIGNED: frozenset[UnitStatus] = frozenset(
    {S.DISPATCHED, S.EN_ROUTE, S.ON_SCENE, S.TRANSPORTING, S.AT_HOSPITAL}
)
#: Statuses in which a unit can be sent without a diversion.
DISPATCHABLE: frozenset[UnitStatus] = frozenset({S.AVAILABLE, S.RETURNING})
#: Capabilities that allow carrying a patient.
TRANSPORT_CAPABILITIES: frozenset[Capability] = frozenset(
    {Capability.AMBULANCE_ALS, Capability.AMBULANCE_BLS}
)
del S


def parse_status(value: str) -> UnitStatus:
    try:
        return UnitStatus(value)
    except ValueError:
        known = [s.value for s in UnitStatus]
        raise InvalidInput(
            f"unknown unit status {value!r}; known: {', '.join(known)}",
            code="unit.status_unknown",
            value=value,
            known=known,
        ) from None


@dataclass(frozen=True)
class Position:
    """A WGS84 point (EPSG:4326)."""

    lon: float
    lat: float

    def __post_init__(self) -> None:
        if not -180.0 <= self.lon <= 180.0:
            raise InvalidInput(
                f"longitude {self.lon} is outside -180..180", code="point.lon_range", lon=self.lon
            )
        if not -90.0 <= self.lat <= 90.0:
            raise InvalidInput(
                f"latitude {self.lat} is outside -90..90", code="point.lat_range", lat=self.lat
            )


@dataclass(frozen=True)
class Station:
    """A unit's home base."""

    id: str
    name: str
    position: Position
    region: str = ""
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Unit:
    """A dispatchable unit and its current state."""

    id: str
    callsign: str
    unit_type: str
    station_id: str | None
    capabilities: frozenset[Capability]
    crew: int
    status: UnitStatus
    status_since: datetime
    station_position: Position | None = None
    incident_id: int | None = None
    acknowledged_at: datetime | None = None
    fix: Position | None = None
    fix_at: datetime | None = None
    version: int = 1

    def __post_init__(self) -> None:
        if self.crew < 0:
            raise InvalidInput(
                f"crew of unit {self.id} cannot be negative ({self.crew})",
                code="unit.crew_negative",
                unit_id=self.id,
                crew=self.crew,
            )

    @property
    def origin(self) -> tuple[str, Position] | None:
        """Where a drive-time estimate starts: the last GPS fix, else the station."""
        if self.fix is not None:
            return ("gps", self.fix)
        if self.station_position is not None:
            return ("station", self.station_position)
        return None


@dataclass(frozen=True)
class UnitStatusChanged:
    """Domain event: a unit changed status (``command`` turns it into an event-log row)."""

    unit_id: str
    from_status: UnitStatus
    to_status: UnitStatus
    at: datetime
    incident_id: int | None
    reason: str = ""


def check_transition(unit: Unit, to: UnitStatus, *, divert: bool = False) -> None:
    """Raise ``InvalidTransition`` unless ``unit`` may go to ``to`` now."""
    frm = unit.status
    if to is UnitStatus.DISPATCHED and frm in DIVERTIBLE:
        if not divert:
            raise InvalidTransition(
                unit.id,
                frm,
                to,
                f"it is busy ({frm}"
                + (f" at incident {unit.incident_id}" if unit.incident_id is not None else "")
                + "); divert it explicitly to send it elsewhere",
                code="unit.busy_divert",
                incident_id=unit.incident_id,
            )
        return
    if frm == to:
        raise InvalidTransition(
            unit.id, frm, to, f"it is already {frm}", code="unit.status_already"
        )
    if to not in TRANSITIONS[frm]:
        allowed = sorted(s.value for s in TRANSITIONS[frm])
        raise InvalidTransition(
            unit.id,
            frm,
            to,
            f"from {frm} it can go to {', '.join(allowed) or 'nothing'}",
            code="unit.transition_not_allowed",
            allowed=allowed,
        )
    if to is UnitStatus.TRANSPORTING and not unit.capabilities & TRANSPORT_CAPABILITIES:
        raise InvalidTransition(
            unit.id, frm, to, "it is not an ambulance", code="unit.not_transport"
        )


def transition(
    unit: Unit,
    to: UnitStatus,
    at: datetime,
    *,
    incident_id: int | None = None,
    divert: bool = False,
    reason: str = "",
) -> tuple[Unit, UnitStatusChanged]:
    """The unit after the change, and the event saying so.

    ``incident_id`` is required when going to ``dispatched`` and is kept while the unit works on
    the incident; going back to ``available``, ``returning`` or ``out_of_service`` releases it.
    """
    check_transition(unit, to, divert=divert)
    if to is UnitStatus.DISPATCHED:
        if incident_id is None:
            raise InvalidInput(
                f"dispatching unit {unit.id} needs an incident",
                code="unit.dispatch_needs_incident",
                unit_id=unit.id,
            )
        new_incident: int | None = incident_id
        ack: datetime | None = None
    elif to in ASSIGNED:
        new_incident = unit.incident_id
        ack = unit.acknowledged_at
    else:
        new_incident = None
        ack = None
    changed = replace(
        unit,
        status=to,
        status_since=at,
        incident_id=new_incident,
        acknowledged_at=ack,
    )
    event = UnitStatusChanged(
        unit.id,
        unit.status,
        to,
        at,
        new_incident if to in ASSIGNED else unit.incident_id,
        reason,
    )
    return changed, event


def acknowledge(unit: Unit, at: datetime) -> Unit:
    """The unit after its crew acknowledged the dispatch (only while ``dispatched``)."""
    if unit.status is not UnitStatus.DISPATCHED:
        raise InvalidTransition(
            unit.id,
            unit.status,
            "acknowledged",
            "only a dispatched unit can acknowledge",
            code="unit.acknowledge_not_dispatched",
        )
    if unit.acknowledged_at is not None:
        return unit
    return replace(unit, acknowledged_at=at)
