"""The incident domain: numbers, types, priority, response and command levels, status (pure).

- Numbers are readable: year and a per-year sequence, ``2026-000123``.
- Types come from a configurable taxonomy of dotted codes (``fire.structure``) with names in
  zh-CN and en; the top segment is the category.
- Priority 1 (highest) to 4; response level I (most serious) to IV, raised or lowered with a reason.
- Status: new -> dispatched -> en_route -> on_scene -> under_control -> closed, forward only
  (steps may be skipped: a unit can report on scene without en route), plus cancelled from any
  open status, and reopen (to ``new``) with a reason from closed or cancelled.
- Tiered command (指挥分级协同): department < district < city; an incident escalates upwards.
- Probable duplicates: open incidents of a compatible type, within a distance and time window.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any, Literal

from command.errors import Conflict, Forbidden, InvalidInput
from gis.coords import distance_m

# --------------------------------------------------------------------------- numbers

_NUMBER = re.compile(r"^(\d{4})-(\d{6,})$")


def format_number(year: int, sequence: int) -> str:
    """``2026-000123``: the year and the incident's sequence within that year."""
    if not 1900 <= year <= 9999:
        raise InvalidInput(
            f"year {year} is outside 1900..9999",
            code="incident.number_year_range",
            year=year,
            min=1900,
            max=9999,
        )
    if sequence < 1:
        raise InvalidInput(
            f"incident sequence must start at 1, not {sequence}",
            code="incident.number_sequence_range",
            sequence=sequence,
            min=1,
        )
    return f"{year}-{sequence:06d}"


def parse_number(text: str) -> tuple[int, int]:
    match = _NUMBER.match(text.strip())
    if match is None:
        raise InvalidInput(
            f"{text!r} is not an incident number like 2026-000123",
            code="incident.number_invalid",
            text=text,
        )
    return int(match.group(1)), int(match.group(2))


# --------------------------------------------------------------------------- types


@dataclass(frozen=True)
class IncidentType:
    """One entry of the taxonomy."""

    code: str
    names: Mapping[str, str]
    default_priority: int = 2
    compatible: frozenset[str] = frozenset()

    @property
    def category(self) -> str:
        return self.code.split(".", 1)[0]

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.code


#: code -> (zh-CN, en, default priority, categories also treated as the same emergency)
DEFAULT_TYPES: dict[str, tuple[str, str, int, tuple[str, ...]]] = {
    "fire": ("火灾", "Fire", 1, ("hazmat",)),
    "fire.structure": ("建筑火灾", "Structure fire", 1, ("hazmat",)),
    "fire.vehicle": ("车辆火灾", "Vehicle fire", 2, ("traffic_collision",)),
    "fire.outdoor": ("野外火灾", "Outdoor fire", 2, ()),
    "medical": ("医疗急救", "Medical emergency", 2, ("traffic_collision",)),
    "medical.cardiac_arrest": ("心脏骤停", "Cardiac arrest", 1, ()),
    "medical.serious": ("危重病人", "Serious illness or injury", 1, ("traffic_collision",)),
    "traffic_collision": ("交通事故", "Traffic collision", 2, ("medical", "fire")),
    "traffic_collision.entrapment": (
        "交通事故（人员被困）",
        "Traffic collision with entrapment",
        1,
        ("medical", "rescue", "fire"),
    ),
    "crime": ("治安刑事警情", "Crime", 2, ()),
    "crime.violent": ("暴力犯罪", "Violent crime", 1, ("medical",)),
    "crime.theft": ("盗窃", "Theft", 3, ()),
    "hazmat": ("危险化学品事故", "Hazardous materials", 1, ("fire",)),
    "flood": ("洪涝灾害", "Flood", 2, ("rescue",)),
    "rescue": ("抢险救援", "Rescue", 2, ("flood", "traffic_collision")),
    "rescue.water": ("水域救援", "Water rescue", 1, ("flood",)),
    "public_health": ("公共卫生事件", "Public health event", 2, ("medical",)),
}


@dataclass(frozen=True)
class Taxonomy:
    """The incident types a centre uses; configuration, not code."""

    types: Mapping[str, IncidentType]

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Mapping[str, Any]]) -> Taxonomy:
        """From ``{code: {"zh-CN": ..., "en": ..., "priority": 2, "compatible": [...]}}``."""
        types: dict[str, IncidentType] = {}
        for code, entry in raw.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*", code):
                raise InvalidInput(
                    f"incident type code {code!r} must be dotted lowercase words",
                    code="incident_type.code_invalid",
                    type=code,
                )
            names = {k: str(v) for k, v in entry.items() if k in ("zh-CN", "en")}
            if "zh-CN" not in names or "en" not in names:
                raise InvalidInput(
                    f"incident type {code} needs a zh-CN and an en name",
                    code="incident_type.names_missing",
                    type=code,
                )
            types[code] = IncidentType(
                code,
                names,
                validate_priority(int(entry.get("priority", 2))),
                frozenset(entry.get("compatible", ())),
            )
        for code in types:
            parent = code.rpartition(".")[0]
            if parent and parent not in types:
                raise InvalidInput(
                    f"incident type {code} has no parent type {parent}",
                    code="incident_type.parent_unknown",
                    type=code,
                    parent=parent,
                )
        return cls(types)

    @classmethod
    def default(cls) -> Taxonomy:
        return cls.from_mapping(
            {
                code: {"zh-CN": zh, "en": en, "priority": prio, "compatible": list(comp)}
                for code, (zh, en, prio, comp) in DEFAULT_TYPES.items()
            }
        )

    def get(self, code: str) -> IncidentType:
        try:
            return self.types[code]
        except KeyError:
            raise InvalidInput(
                f"unknown incident type {code!r}; known types: {', '.join(sorted(self.types))}",
                code="incident_type.unknown",
                type=code,
                known=sorted(self.types),
            ) from None

    def compatible(self, a: str, b: str) -> bool:
        """Could incidents of types ``a`` and ``b`` be the same emergency?"""
        ta, tb = self.get(a), self.get(b)
        if ta.category == tb.category:
            return True
        return tb.category in ta.compatible or ta.category in tb.compatible


# --------------------------------------------------------------------------- priority, levels


def validate_priority(priority: int) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 4:
        raise InvalidInput(
            f"priority {priority} is outside 1..4 (1 is the highest)",
            code="incident.priority_range",
            priority=priority,
            min=1,
            max=4,
        )
    return priority


class ResponseLevel(IntEnum):
    """Graded response (分级响应): I is the most serious."""

    I = 1  # noqa: E741
    II = 2
    III = 3
    IV = 4

    @classmethod
    def parse(cls, value: str | int) -> ResponseLevel:
        if isinstance(value, int) and not isinstance(value, bool):
            if 1 <= value <= 4:
                return cls(value)
        elif isinstance(value, str):
            key = value.strip().upper().removesuffix("级")
            roman = {"Ⅰ": "I", "Ⅱ": "II", "Ⅲ": "III", "Ⅳ": "IV"}.get(key, key)
            if roman in cls.__members__:
                return cls[roman]
        raise InvalidInput(
            f"response level {value!r} is not one of I, II, III, IV",
            code="incident.response_level_unknown",
            value=value,
            known=list(cls.__members__),
        )


@dataclass(frozen=True)
class LevelChange:
    """A change of response level or command level, with its reason."""

    kind: str  # response_level | command_level
    from_value: str
    to_value: str
    reason: str
    at: datetime
    actor: str


MAX_REASON = 2000


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise InvalidInput("a reason is required", code="incident.reason_missing")
    if len(text) > MAX_REASON:
        raise InvalidInput(
            f"the reason is longer than {MAX_REASON} characters",
            code="incident.reason_too_long",
            max=MAX_REASON,
            length=len(text),
        )
    return text


def change_response_level(
    current: ResponseLevel, to: ResponseLevel, reason: str, at: datetime, actor: str
) -> LevelChange:
    """Raise (towards I) or lower (towards IV) the response level."""
    if to == current:
        raise Conflict(
            f"the response level is already {current.name}",
            code="incident.response_level_same",
            level=current.name,
        )
    return LevelChange("response_level", current.name, to.name, _reason(reason), at, actor)


class CommandLevel(IntEnum):
    """Tiered command (指挥分级协同): who owns and directs an incident."""

    DEPARTMENT = 1
    DISTRICT = 2
    CITY = 3

    @classmethod
    def parse(cls, value: str) -> CommandLevel:
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise InvalidInput(
                f"command level {value!r} is not one of department, district, city",
                code="incident.command_level_unknown",
                value=value,
                known=[level.label for level in cls],
            ) from None

    @property
    def label(self) -> str:
        return self.name.lower()


COMMAND_LEVEL_NAMES: dict[CommandLevel, dict[str, str]] = {
    CommandLevel.DEPARTMENT: {"zh-CN": "部门级", "en": "department"},
    CommandLevel.DISTRICT: {"zh-CN": "区级", "en": "district"},
    CommandLevel.CITY: {"zh-CN": "市级", "en": "city"},
}


def escalate(
    current: CommandLevel, to: CommandLevel, reason: str, at: datetime, actor: str
) -> LevelChange:
    """Hand the incident to a higher command level, which then sees and directs it."""
    if to <= current:
        raise Conflict(
            f"cannot escalate from {current.label} to {to.label}: escalation goes upwards "
            "(department < district < city)",
            code="incident.escalation_not_upwards",
            from_level=current.label,
            to_level=to.label,
        )
    return LevelChange("command_level", current.label, to.label, _reason(reason), at, actor)


def hand_back(
    current: CommandLevel, to: CommandLevel, reason: str, at: datetime, actor: str
) -> LevelChange:
    """Return the incident to a lower command level."""
    if to >= current:
        raise Conflict(
            f"cannot hand back from {current.label} to {to.label}: that is not lower",
            code="incident.hand_back_not_lower",
            from_level=current.label,
            to_level=to.label,
        )
    return LevelChange("command_level", current.label, to.label, _reason(reason), at, actor)


def can_direct(viewer: CommandLevel, owner: CommandLevel) -> bool:
    """A level directs the incidents it owns and every incident owned below it."""
    return viewer >= owner


def may_direct(user_level: CommandLevel | None, incident_level: CommandLevel) -> bool:
    """May someone acting at ``user_level`` direct an incident owned at ``incident_level``?

    At or above the owning level (city >= district >= department); no level is the centre's
    top level (city).
    """
    return can_direct(CommandLevel.CITY if user_level is None else user_level, incident_level)


def check_direct(
    number: str, user_level: CommandLevel | None, incident_level: CommandLevel
) -> None:
    """Raise ``Forbidden`` unless ``may_direct``: reading stays open, directing does not."""
    if not may_direct(user_level, incident_level):
        acting = CommandLevel.CITY if user_level is None else user_level
        raise Forbidden(
            f"incident {number} is directed at {incident_level.label} level; "
            f"you act at {acting.label} level",
            code="incident.directed_above_you",
            number=number,
            incident_level=incident_level.label,
            user_level=acting.label,
        )


# --------------------------------------------------------------------------- status


class IncidentStatus(StrEnum):
    NEW = "new"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    UNDER_CONTROL = "under_control"
    CLOSED = "closed"
    CANCELLED = "cancelled"


_CHAIN: tuple[IncidentStatus, ...] = (
    IncidentStatus.NEW,
    IncidentStatus.DISPATCHED,
    IncidentStatus.EN_ROUTE,
    IncidentStatus.ON_SCENE,
    IncidentStatus.UNDER_CONTROL,
    IncidentStatus.CLOSED,
)
OPEN_STATUSES: frozenset[IncidentStatus] = frozenset(_CHAIN[:-1])
TERMINAL: frozenset[IncidentStatus] = frozenset({IncidentStatus.CLOSED, IncidentStatus.CANCELLED})
#: Closing needs the incident handled: not while units are on their way.
CLOSABLE_FROM: frozenset[IncidentStatus] = frozenset(
    {IncidentStatus.NEW, IncidentStatus.ON_SCENE, IncidentStatus.UNDER_CONTROL}
)
#: The incident time each status stamps (first time only).
STATUS_STAMPS: dict[IncidentStatus, str] = {
    IncidentStatus.DISPATCHED: "dispatched_at",
    IncidentStatus.EN_ROUTE: "en_route_at",
    IncidentStatus.ON_SCENE: "on_scene_at",
    IncidentStatus.UNDER_CONTROL: "under_control_at",
    IncidentStatus.CLOSED: "closed_at",
    IncidentStatus.CANCELLED: "cancelled_at",
}


def parse_status(value: str) -> IncidentStatus:
    try:
        return IncidentStatus(value)
    except ValueError:
        known = [s.value for s in IncidentStatus]
        raise InvalidInput(
            f"unknown incident status {value!r}; known: {', '.join(known)}",
            code="incident.status_unknown",
            value=value,
            known=known,
        ) from None


class InvalidIncidentTransition(Conflict):
    """A status change the incident status machine does not allow (HTTP 409); ``code`` says
    which rule refused it."""

    code = "incident.transition_refused"

    def __init__(
        self,
        number: str,
        frm: IncidentStatus,
        to: IncidentStatus,
        why: str,
        *,
        code: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(
            f"incident {number} cannot go from {frm} to {to}: {why}",
            code=code,
            number=number,
            from_status=str(frm),
            to_status=str(to),
            **params,
        )


def check_status_change(number: str, frm: IncidentStatus, to: IncidentStatus) -> None:
    """Raise ``InvalidIncidentTransition`` unless ``frm -> to`` is allowed (reopen is separate)."""
    if frm == to:
        raise InvalidIncidentTransition(
            number, frm, to, f"it is already {frm}", code="incident.status_already"
        )
    if frm in TERMINAL:
        raise InvalidIncidentTransition(
            number,
            frm,
            to,
            f"it is {frm}; reopen it with a reason first",
            code="incident.status_final",
        )
    if to is IncidentStatus.CANCELLED:
        return
    if to is IncidentStatus.CLOSED and frm not in CLOSABLE_FROM:
        raise InvalidIncidentTransition(
            number,
            frm,
            to,
            "units are on their way; cancel or wait for them on scene first",
            code="incident.close_units_on_way",
        )
    if _CHAIN.index(to) < _CHAIN.index(frm):
        raise InvalidIncidentTransition(
            number, frm, to, "status only moves forward", code="incident.status_backwards"
        )


def after_last_unit_left(current: IncidentStatus) -> IncidentStatus | None:
    """When the last unit leaves an incident before anyone arrived (cancelled, diverted), the
    incident waits for units again: back to ``new``. Otherwise nothing changes."""
    if current in (IncidentStatus.DISPATCHED, IncidentStatus.EN_ROUTE):
        return IncidentStatus.NEW
    return None


def advance_for_unit(current: IncidentStatus, unit_status: str) -> IncidentStatus | None:
    """The incident status a unit's new status implies, when it moves the incident forward."""
    implied = {
        "dispatched": IncidentStatus.DISPATCHED,
        "en_route": IncidentStatus.EN_ROUTE,
        "on_scene": IncidentStatus.ON_SCENE,
    }.get(unit_status)
    if implied is None or current in TERMINAL or current is IncidentStatus.UNDER_CONTROL:
        return None
    if _CHAIN.index(implied) > _CHAIN.index(current):
        return implied
    return None


def check_reopen(number: str, current: IncidentStatus, reason: str) -> str:
    if current not in TERMINAL:
        raise InvalidIncidentTransition(
            number,
            current,
            IncidentStatus.NEW,
            "only a closed or cancelled incident reopens",
            code="incident.reopen_not_final",
        )
    return _reason(reason)


# --------------------------------------------------------------------------- narrative


MAX_NARRATIVE = 8000
NARRATIVE_KINDS = ("note", "system")

#: What the server's own ("system") narrative entries say, as stable codes: each entry keeps its
#: English text (the record, exports, logs) and carries its code and parameters, so that a
#: console words it in its language (listed under "Narrative" in docs/errors.md).
NarrativeCode = Literal[
    "narrative.units_assigned",
    "narrative.unit_replaced",
    "narrative.unit_diverted",
    "narrative.status_reason",
    "narrative.reopened",
    "narrative.escalated",
    "narrative.merged",
    "narrative.level_raised",
    "narrative.plan_activated",
    "narrative.plan_stage_called",
    "narrative.plan_task_done",
    "narrative.plan_task_done_late",
    "narrative.plan_task_overdue",
    "narrative.attachment_added",
    "narrative.consultation_opened",
    "narrative.consultation_invited",
    "narrative.consultation_roles_invited",
    "narrative.consultation_removed",
    "narrative.consultation_muted",
    "narrative.consultation_unmuted",
    "narrative.consultation_capped",
    "narrative.consultation_cap_lifted",
    "narrative.consultation_ended",
    "narrative.consultation_recording_started",
    "narrative.consultation_recording_stopped",
    "narrative.consultation_joined",
    "narrative.consultation_left",
]


@dataclass(frozen=True)
class NarrativeEntry:
    """One line of the append-only narrative; a system entry has its code and parameters."""

    at: datetime
    author: str
    text: str
    kind: str = "note"  # note | system
    code: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


def system_entry(
    text: str, author: str, at: datetime, *, code: NarrativeCode, params: Mapping[str, Any]
) -> NarrativeEntry:
    """The server's own entry: its English ``text``, and the ``code`` and ``params`` a console
    words it from."""
    return replace(narrative_entry(text, author, at, "system"), code=code, params=dict(params))


def narrative_entry(text: str, author: str, at: datetime, kind: str = "note") -> NarrativeEntry:
    body = text.strip()
    if not body:
        raise InvalidInput("a narrative entry cannot be empty", code="narrative.empty")
    if len(body) > MAX_NARRATIVE:
        raise InvalidInput(
            f"a narrative entry is limited to {MAX_NARRATIVE} characters",
            code="narrative.too_long",
            max=MAX_NARRATIVE,
            length=len(body),
        )
    if kind not in NARRATIVE_KINDS:
        raise InvalidInput(
            f"narrative kind {kind!r} is not note or system",
            code="narrative.kind_unknown",
            kind=kind,
            known=list(NARRATIVE_KINDS),
        )
    return NarrativeEntry(at, author, body, kind)


# --------------------------------------------------------------------------- duplicates


@dataclass(frozen=True)
class DuplicateWindow:
    """How close in space and time an open incident must be to count as a probable duplicate."""

    distance_m: float = 300.0
    minutes: float = 30.0

    def __post_init__(self) -> None:
        if self.distance_m <= 0 or self.minutes <= 0:
            raise InvalidInput(
                "the duplicate window needs a positive distance and time",
                code="settings.duplicate_window_invalid",
                distance_m=self.distance_m,
                minutes=self.minutes,
            )


@dataclass(frozen=True)
class IncidentSummary:
    """What duplicate detection needs to know about an existing incident."""

    id: int
    number: str
    type_code: str
    status: IncidentStatus
    lon: float
    lat: float
    created_at: datetime


@dataclass(frozen=True)
class DuplicateHint:
    """An open incident that is probably the same emergency."""

    incident_id: int
    number: str
    type_code: str
    distance_m: float
    minutes_apart: float


def probable_duplicates(
    type_code: str,
    lon: float,
    lat: float,
    at: datetime,
    candidates: Iterable[IncidentSummary],
    taxonomy: Taxonomy,
    window: DuplicateWindow,
) -> list[DuplicateHint]:
    """Open incidents of a compatible type within the window, nearest first."""
    taxonomy.get(type_code)
    hints: list[DuplicateHint] = []
    span = timedelta(minutes=window.minutes)
    for inc in candidates:
        if inc.status in TERMINAL:
            continue
        if abs(at - inc.created_at) > span:
            continue
        if inc.type_code not in taxonomy.types or not taxonomy.compatible(type_code, inc.type_code):
            continue
        dist = distance_m(lon, lat, inc.lon, inc.lat)
        if dist > window.distance_m:
            continue
        minutes = abs((at - inc.created_at).total_seconds()) / 60.0
        hints.append(DuplicateHint(inc.id, inc.number, inc.type_code, dist, minutes))
    hints.sort(key=lambda h: (h.distance_m, h.minutes_apart, h.incident_id))
    return hints


# --------------------------------------------------------------------------- merge


@dataclass(frozen=True)
class MergePlan:
    """Merging ``absorbed`` into ``survivor``: calls, narrative and units move to the survivor."""

    survivor_id: int
    absorbed_id: int
    priority: int
    response_level: ResponseLevel
    command_level: CommandLevel
    notes: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class MergeSide:
    id: int
    number: str
    status: IncidentStatus
    priority: int
    response_level: ResponseLevel
    command_level: CommandLevel


def plan_merge(survivor: MergeSide, absorbed: MergeSide) -> MergePlan:
    """Check a merge and say what the survivor becomes (the more serious of both)."""
    if survivor.id == absorbed.id:
        raise InvalidInput(
            f"incident {survivor.number} cannot be merged into itself",
            code="incident.merge_into_itself",
            number=survivor.number,
        )
    for side in (survivor, absorbed):
        if side.status in TERMINAL:
            raise Conflict(
                f"incident {side.number} is {side.status} and cannot be merged",
                code="incident.merge_final",
                number=side.number,
                status=side.status.value,
            )
    return MergePlan(
        survivor.id,
        absorbed.id,
        min(survivor.priority, absorbed.priority),
        min(survivor.response_level, absorbed.response_level),
        max(survivor.command_level, absorbed.command_level),
        (f"merged {absorbed.number} into {survivor.number}",),
    )


# --------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class Incident:
    """An incident as stored."""

    id: int
    number: str
    type_code: str
    priority: int
    response_level: ResponseLevel
    status: IncidentStatus
    command_level: CommandLevel
    region: str | None
    jurisdiction_id: int | None
    jurisdiction_name: str | None
    lon: float
    lat: float
    address: str
    cross_streets: str
    caller_name: str
    caller_phone: str
    summary: str
    merged_into: int | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    call_answered_at: datetime | None = None
    dispatched_at: datetime | None = None
    en_route_at: datetime | None = None
    on_scene_at: datetime | None = None
    under_control_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.status not in TERMINAL
