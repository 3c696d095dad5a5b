"""Plan bodies: versions with their approval trail, YAML in and out, differences, matches
with their explanations, reported facts, activations and tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from command.api.schemas.common import Model
from plans.conditions import ConditionResult
from plans.diff import FieldChange
from plans.matching import Match
from plans.model import Activation, PlanTask, PlanVersion


class YamlIn(BaseModel):
    yaml: str = Field(min_length=1, max_length=1_000_000)


class DocumentIn(BaseModel):
    """A plan as the console's editor holds it: the document (the YAML's fields, as JSON)."""

    document: dict[str, Any]


class PlanVersionOut(Model):
    key: str
    version: int
    status: str
    names: dict[str, str]
    category: dict[str, str]
    created_by: str
    created_at: datetime
    submitted_by: str | None
    submitted_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    retired_by: str | None
    retired_at: datetime | None

    @classmethod
    def of(cls, v: PlanVersion) -> PlanVersionOut:
        return cls(
            key=v.key,
            version=v.version,
            status=v.status.value,
            names=dict(v.plan.names),
            category=dict(v.plan.category),
            created_by=v.created_by,
            created_at=v.created_at,
            submitted_by=v.submitted_by,
            submitted_at=v.submitted_at,
            approved_by=v.approved_by,
            approved_at=v.approved_at,
            retired_by=v.retired_by,
            retired_at=v.retired_at,
        )


class PlanDocumentOut(Model):
    version: PlanVersionOut
    document: dict[str, Any]


class PlanList(Model):
    plans: list[PlanVersionOut]


class YamlOut(Model):
    key: str
    version: int
    yaml: str


class ChangeOut(Model):
    field: str
    change: str
    before: Any
    after: Any
    text: str

    @classmethod
    def of(cls, c: FieldChange) -> ChangeOut:
        return cls(
            field=c.field, change=c.change, before=c.before, after=c.after, text=c.describe()
        )


class DiffOut(Model):
    key: str
    before: int
    after: int
    changes: list[ChangeOut]


class ConditionOut(Model):
    kind: str
    held: bool
    required: bool
    weight: float
    expected: Any
    actual: Any
    text: str

    @classmethod
    def of(cls, r: ConditionResult) -> ConditionOut:
        return cls(
            kind=r.kind,
            held=r.held,
            required=r.required,
            weight=r.weight,
            expected=r.expected,
            actual=r.actual,
            text=r.explain(),
        )


class MatchOut(Model):
    rank: int
    key: str
    version: int
    names: dict[str, str]
    score: float
    conditions: list[ConditionOut]

    @classmethod
    def of(cls, rank: int, m: Match) -> MatchOut:
        return cls(
            rank=rank,
            key=m.key,
            version=m.version,
            names=m.names,
            score=m.score,
            conditions=[ConditionOut.of(r) for r in m.results],
        )


class IncidentPlansOut(Model):
    incident_id: int
    number: str
    response_level: str
    matches: list[MatchOut]

    @classmethod
    def of(cls, incident_id: int, number: str, level: str, found: list[Match]) -> IncidentPlansOut:
        return cls(
            incident_id=incident_id,
            number=number,
            response_level=level,
            matches=[MatchOut.of(i, m) for i, m in enumerate(found, start=1)],
        )


class FactsIn(BaseModel):
    casualties: int = Field(default=0, ge=0, le=100_000)
    trapped: int = Field(default=0, ge=0, le=100_000)
    hazmat: bool = False


class TaskOut(Model):
    id: int
    activation_id: int
    seq: int
    names: dict[str, str]
    role: str
    department: str
    due_at: datetime
    status: str
    done_by: str | None
    done_at: datetime | None
    overdue_alerted_at: datetime | None

    @classmethod
    def of(cls, t: PlanTask) -> TaskOut:
        return cls(
            id=t.id,
            activation_id=t.activation_id,
            seq=t.seq,
            names=t.names,
            role=t.role,
            department=t.department,
            due_at=t.due_at,
            status=t.status,
            done_by=t.done_by,
            done_at=t.done_at,
            overdue_alerted_at=t.overdue_alerted_at,
        )


class ActivationOut(Model):
    id: int
    key: str
    version: int
    stage: int
    activated_by: str
    activated_at: datetime
    evacuation: dict[str, Any] | None
    cordon: dict[str, Any] | None

    @classmethod
    def of(cls, a: Activation) -> ActivationOut:
        return cls(
            id=a.id,
            key=a.plan_key,
            version=a.version,
            stage=a.stage,
            activated_by=a.activated_by,
            activated_at=a.activated_at,
            evacuation=a.evacuation,
            cordon=a.cordon,
        )


class IncidentActivationsOut(Model):
    incident_id: int
    activations: list[ActivationOut]
    tasks: list[TaskOut]
