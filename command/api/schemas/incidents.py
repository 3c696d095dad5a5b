"""Incident bodies: what a call-taker enters, and the incident, its detail, duplicates, the unit
recommendation, assignments and response-time figures as the API returns them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from command.api.schemas.common import Model, Reason
from command.api.schemas.sensitivity import SensitivityIn
from command.incidents import response_times
from command.incidents.config import IncidentConfig
from command.incidents.domain import DuplicateHint, Incident
from command.incidents.service import IncidentDetail, Note
from dispatch.assignments import Assignment
from dispatch.recommend import Choice, Recommendation, Rejection
from dispatch.runcards import RunCards

# ---------------------------------------------------------------------- requests


class IncidentIn(BaseModel):
    type: str = Field(min_length=1, max_length=100)
    lon: float
    lat: float
    priority: int | None = None
    response_level: str | int | None = None
    address: str = Field(default="", max_length=500)
    cross_streets: str = Field(default="", max_length=500)
    caller_name: str = Field(default="", max_length=200)
    caller_phone: str = Field(default="", max_length=50)
    summary: str = Field(default="", max_length=8000)
    call_id: str | None = Field(default=None, max_length=200)
    call_answered_at: datetime | None = None
    recommend: bool = Field(
        default=False, description="also answer with the unit recommendation (run card)"
    )
    requirements: dict[str, int] | None = Field(
        default=None, description="capability -> count, e.g. from a matched plan"
    )
    sensitivity: SensitivityIn | None = Field(
        default=None,
        description="sensitive from the start: only the roles and users named may read it",
    )


class DuplicatesIn(BaseModel):
    type: str = Field(min_length=1, max_length=100)
    lon: float
    lat: float


class CallIn(BaseModel):
    call_id: str = Field(min_length=1, max_length=200)
    answered_at: datetime | None = None
    caller_phone: str = Field(default="", max_length=50)


class NoteIn(BaseModel):
    text: str = Field(max_length=8000)


class StatusIn(BaseModel):
    status: str
    reason: str = Field(default="", max_length=2000)
    version: int | None = None


class ReasonIn(BaseModel):
    reason: str = Field(max_length=2000)


class PriorityIn(BaseModel):
    priority: int
    version: int | None = None


class LevelIn(BaseModel):
    level: str | int
    reason: str = Field(max_length=2000)


class EscalateIn(BaseModel):
    to: str
    reason: str = Field(max_length=2000)


class MergeIn(BaseModel):
    absorbed_id: int


class RecommendIn(BaseModel):
    requirements: dict[str, int] | None = None


class AssignIn(BaseModel):
    unit_ids: list[str] = Field(min_length=1, max_length=50)
    divert: bool = False


class ReassignIn(BaseModel):
    from_unit: str
    to_unit: str
    divert: bool = False


class CancelIn(BaseModel):
    reason: str = Field(default="", max_length=2000)


# ---------------------------------------------------------------------- the incident


class IncidentOut(Model):
    id: int
    number: str
    type: str
    type_names: dict[str, str] = Field(description="the type's name per language (zh-CN, en)")
    priority: int
    response_level: str = Field(examples=["IV"])
    status: str
    command_level: str = Field(examples=["district"])
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
    call_answered_at: datetime | None
    dispatched_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    under_control_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, inc: Incident, config: IncidentConfig) -> IncidentOut:
        kind = config.taxonomy.types.get(inc.type_code)
        return cls(
            id=inc.id,
            number=inc.number,
            type=inc.type_code,
            type_names=dict(kind.names) if kind else {},
            priority=inc.priority,
            response_level=inc.response_level.name,
            status=inc.status.value,
            command_level=inc.command_level.label,
            region=inc.region,
            jurisdiction_id=inc.jurisdiction_id,
            jurisdiction_name=inc.jurisdiction_name,
            lon=inc.lon,
            lat=inc.lat,
            address=inc.address,
            cross_streets=inc.cross_streets,
            caller_name=inc.caller_name,
            caller_phone=inc.caller_phone,
            summary=inc.summary,
            merged_into=inc.merged_into,
            created_by=inc.created_by,
            created_at=inc.created_at,
            updated_at=inc.updated_at,
            version=inc.version,
            call_answered_at=inc.call_answered_at,
            dispatched_at=inc.dispatched_at,
            en_route_at=inc.en_route_at,
            on_scene_at=inc.on_scene_at,
            under_control_at=inc.under_control_at,
            closed_at=inc.closed_at,
            cancelled_at=inc.cancelled_at,
        )


class IncidentEnvelope(Model):
    incident: IncidentOut


class IncidentList(Model):
    incidents: list[IncidentOut]


class DuplicateOut(Model):
    incident_id: int
    number: str
    type: str
    distance_m: float
    minutes_apart: float

    @classmethod
    def of(cls, h: DuplicateHint) -> DuplicateOut:
        return cls(
            incident_id=h.incident_id,
            number=h.number,
            type=h.type_code,
            distance_m=round(h.distance_m, 1),
            minutes_apart=round(h.minutes_apart, 1),
        )


class DuplicatesOut(Model):
    probable_duplicates: list[DuplicateOut]


class IncidentTypeOut(Model):
    code: str
    names: dict[str, str]
    default_priority: int
    run_card: dict[str, int]


class IncidentTypes(Model):
    types: list[IncidentTypeOut]

    @classmethod
    def of(cls, config: IncidentConfig, cards: RunCards) -> IncidentTypes:
        """The configured types with ``cards``, the run cards in effect (edited ones too)."""
        return cls(
            types=[
                IncidentTypeOut(
                    code=t.code,
                    names=dict(t.names),
                    default_priority=t.default_priority,
                    run_card={c.value: n for c, n in cards.for_type(t.code).items()},
                )
                for t in config.taxonomy.types.values()
            ]
        )


# ---------------------------------------------------------------------- detail


class AssignmentOut(Model):
    id: int
    incident_id: int
    unit_id: str
    assigned_at: datetime
    assigned_by: str
    acknowledged_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    transporting_at: datetime | None
    at_hospital_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None

    @classmethod
    def of(cls, a: Assignment) -> AssignmentOut:
        return cls(
            id=a.id,
            incident_id=a.incident_id,
            unit_id=a.unit_id,
            assigned_at=a.assigned_at,
            assigned_by=a.assigned_by,
            acknowledged_at=a.acknowledged_at,
            en_route_at=a.en_route_at,
            on_scene_at=a.on_scene_at,
            transporting_at=a.transporting_at,
            at_hospital_at=a.at_hospital_at,
            ended_at=a.ended_at,
            end_reason=None if a.end_reason is None else a.end_reason.value,
        )


class LinkedCallOut(Model):
    incident_id: int
    call_id: str
    answered_at: datetime | None
    caller_phone: str
    linked_at: datetime
    linked_by: str


class NoteOut(Model):
    id: int
    at: datetime
    author: str
    text: str

    @classmethod
    def of(cls, note: Note) -> NoteOut:
        return cls(id=note.id, at=note.at, author=note.author, text=note.text)


class NarrativeOut(NoteOut):
    incident_id: int
    kind: str = Field(description="note (a person wrote it) or system")
    code: str | None = Field(
        description="a system entry's code (docs/errors.md, Narrative), worded by the consoles "
        "with params; null for people's notes and for system entries written before codes",
    )
    params: dict[str, Any] = Field(description="the values the code's wording takes")


class StatusStepOut(Model):
    id: int
    incident_id: int
    from_status: str | None
    to_status: str
    at: datetime
    actor: str | None
    reason: str


class LevelChangeOut(Model):
    id: int
    incident_id: int
    kind: str = Field(description="command_level or response_level")
    from_value: str
    to_value: str
    reason: str
    at: datetime
    actor: str


class IncidentDetailOut(Model):
    incident: IncidentOut
    calls: list[LinkedCallOut]
    narrative: list[NarrativeOut]
    status_history: list[StatusStepOut]
    level_changes: list[LevelChangeOut]
    assignments: list[AssignmentOut]

    @classmethod
    def of(cls, found: IncidentDetail, config: IncidentConfig) -> IncidentDetailOut:
        return cls(
            incident=IncidentOut.of(found.incident, config),
            calls=[LinkedCallOut.model_validate(c) for c in found.calls],
            narrative=[NarrativeOut.model_validate(n) for n in found.narrative],
            status_history=[StatusStepOut.model_validate(s) for s in found.status_history],
            level_changes=[LevelChangeOut.model_validate(c) for c in found.level_changes],
            assignments=[AssignmentOut.of(a) for a in found.assignments],
        )


# ---------------------------------------------------------------------- recommendation


class ChoiceOut(Model):
    unit_id: str
    callsign: str
    drive_time_s: float
    origin: str = Field(description="gps or station: where the drive time starts")
    covers: list[str]
    also: list[str]
    reason: Reason

    @classmethod
    def of(cls, c: Choice) -> ChoiceOut:
        return cls(
            unit_id=c.unit_id,
            callsign=c.callsign,
            drive_time_s=round(c.drive_time_s, 1),
            origin=c.origin,
            covers=[x.value for x in c.covers],
            also=[x.value for x in c.also],
            reason=Reason(
                code="recommendation.fastest",
                params={
                    "ranks": {cap.value: rank for cap, rank in c.ranks.items()},
                    "drive_time_s": round(c.drive_time_s, 1),
                },
                text=c.reason,
            ),
        )


class RejectionOut(Model):
    unit_id: str
    callsign: str
    code: str = Field(description="busy, out_of_service, no_position, unreachable, slower ...")
    reason: str
    drive_time_s: float | None
    detail: dict[str, Any] = Field(description="the reason's parameters")

    @classmethod
    def of(cls, r: Rejection) -> RejectionOut:
        return cls(
            unit_id=r.unit_id,
            callsign=r.callsign,
            code=r.code,
            reason=r.reason,
            drive_time_s=None if r.drive_time_s is None else round(r.drive_time_s, 1),
            detail=dict(r.detail),
        )


class RecommendationOut(Model):
    source: str = Field(
        description="run_card, plan (the run card with the active plans' alarm stages) or requested"
    )
    requirements: dict[str, int]
    complete: bool
    uncovered: dict[str, int]
    chosen: list[ChoiceOut]
    not_chosen: list[RejectionOut]

    @classmethod
    def of(cls, source: str, rec: Recommendation) -> RecommendationOut:
        return cls(
            source=source,
            requirements={c.value: n for c, n in rec.requirements.items()},
            complete=rec.complete,
            uncovered={c.value: n for c, n in rec.uncovered.items()},
            chosen=[ChoiceOut.of(c) for c in rec.chosen],
            not_chosen=[RejectionOut.of(r) for r in rec.rejected],
        )


class IncidentRecommendationOut(RecommendationOut):
    incident_id: int
    number: str


class CreatedOut(Model):
    incident: IncidentOut
    probable_duplicates: list[DuplicateOut]
    recommendation: RecommendationOut | None = Field(
        default=None, description="with recommend=true"
    )


class AssignedOut(Model):
    incident: IncidentOut
    assignments: list[AssignmentOut]


class UnitReleasedOut(Model):
    unit_id: str
    status: str


# ---------------------------------------------------------------------- figures


class BucketOut(Model):
    bucket: str
    count: int


class IntervalOut(Model):
    count: int
    p50_s: float | None
    p90_s: float | None
    max_s: float | None
    distribution: list[BucketOut]


class TargetOut(Model):
    name: str
    interval: str
    limit_s: float
    share_required: float
    count: int
    met: int
    share_met: float | None
    passed: bool | None


class GroupOut(Model):
    key: dict[str, str]
    incidents: int
    intervals: dict[str, IntervalOut]
    targets: list[TargetOut]

    @classmethod
    def of(cls, g: response_times.GroupReport) -> GroupOut:
        return cls(
            key=dict(g.key),
            incidents=g.incidents,
            intervals={
                name: IntervalOut(
                    count=s.count,
                    p50_s=s.p50,
                    p90_s=s.p90,
                    max_s=s.maximum,
                    distribution=[BucketOut(bucket=b, count=n) for b, n in s.distribution],
                )
                for name, s in g.intervals.items()
            },
            targets=[
                TargetOut(
                    name=t.target.name,
                    interval=t.target.interval,
                    limit_s=t.target.limit_s,
                    share_required=t.target.share,
                    count=t.count,
                    met=t.met,
                    share_met=t.share_met,
                    passed=t.passed,
                )
                for t in g.targets
            ],
        )


class FiguresOut(Model):
    since: datetime
    until: datetime
    groups: list[GroupOut]
