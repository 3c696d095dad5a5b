"""The contingency plan (预案) as plain values: scope, activation conditions, response-level
rules, alarm stages, tasks, notifications, cordon and evacuation distances, references (pure).

A plan is identified by its ``key`` (``highrise_fire``); each change is a new version with its
own status (draft, in review, approved, retired). Names and texts are given in zh-CN and en.
Incident types and capabilities are checked against the vocabulary of the centre that uses the
plan (``Vocabulary``), since this package knows neither the taxonomy nor the units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

LANGUAGES = ("zh-CN", "en")

#: Response levels I (特别重大, red) to IV (一般, blue), by number.
LEVEL_NAMES: dict[int, str] = {1: "I", 2: "II", 3: "III", 4: "IV"}
LEVEL_NUMBERS: dict[str, int] = {name: number for number, name in LEVEL_NAMES.items()}


class PlanStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    RETIRED = "retired"


@dataclass(frozen=True)
class Vocabulary:
    """What a plan may name: the centre's incident types and unit capabilities."""

    incident_types: frozenset[str]
    capabilities: frozenset[str]


@dataclass(frozen=True)
class Condition:
    """One activation condition. ``required`` ones must all hold for the plan to apply; each
    one that holds adds its ``weight`` to the plan's score."""

    kind: str
    required: bool = True
    weight: float = 1.0


@dataclass(frozen=True)
class TypesCondition(Condition):
    """The incident's type is one of ``codes`` or below one (``fire`` covers ``fire.structure``)."""

    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PriorityCondition(Condition):
    """Priority within ``min``..``max`` (1 is the highest)."""

    min: int = 1
    max: int = 4


@dataclass(frozen=True)
class WordsCondition(Condition):
    """Any of ``words`` in the narrative (English tolerant of inflection, Chinese as written)."""

    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class NearCondition(Condition):
    """Within ``within_m`` metres of a named place (its position resolved from the map)."""

    place: str = ""
    within_m: float = 0.0
    lon: float = 0.0
    lat: float = 0.0


@dataclass(frozen=True)
class TimeCondition(Condition):
    """Local time within hours ``start``..``end`` (may wrap past midnight), on ``weekdays``
    (0 is Monday), in ``months``; an empty set means any."""

    hours: tuple[int, int] | None = None
    weekdays: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()


#: the incident counts a condition may compare, by condition name
COUNTS = ("casualties", "trapped", "linked_calls")


@dataclass(frozen=True)
class CountCondition(Condition):
    """At least ``at_least`` casualties, people trapped or linked calls."""

    at_least: int = 1


@dataclass(frozen=True)
class HazmatCondition(Condition):
    """Hazardous materials reported present (or, with ``present: false``, absent)."""

    present: bool = True


@dataclass(frozen=True)
class LevelCondition(Condition):
    """Response level at least as serious as ``at_least`` (1 is level I)."""

    at_least: int = 4


@dataclass(frozen=True)
class Zone:
    """A zone of the plan's scope, drawn on the map (GeoJSON (multi)polygon, WGS84)."""

    name: str
    geometry: Mapping[str, Any]


@dataclass(frozen=True)
class Scope:
    """适用范围: jurisdictions by name (empty: all) and zones (empty: anywhere in them)."""

    jurisdictions: tuple[str, ...] = ()
    zones: tuple[Zone, ...] = ()


@dataclass(frozen=True)
class LevelRule:
    """Raise the response level to ``level`` when all ``when`` conditions hold."""

    level: int
    when: tuple[Condition, ...]
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlarmStage:
    """First, second, third alarm: the resources (capability -> count) a stage adds."""

    number: int
    resources: Mapping[str, int]
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """One step of the procedure (处置流程), owned by a role or department, due a number of
    minutes after activation."""

    order: int
    names: Mapping[str, str]
    role: str
    department: str
    deadline_min: float


@dataclass(frozen=True)
class Notification:
    department: str
    contact: str = ""
    channel: str = ""


@dataclass(frozen=True)
class Reference:
    title: str
    url: str = ""


@dataclass(frozen=True)
class Plan:
    """The content of one plan version."""

    key: str
    names: Mapping[str, str]
    category: Mapping[str, str]
    scope: Scope
    conditions: tuple[Condition, ...]
    level_rules: tuple[LevelRule, ...] = ()
    stages: tuple[AlarmStage, ...] = ()
    tasks: tuple[Task, ...] = ()
    notifications: tuple[Notification, ...] = ()
    cordon_m: float | None = None
    evacuation_m: float | None = None
    references: tuple[Reference, ...] = ()

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.key

    def stage_resources(self, up_to: int) -> dict[str, int]:
        """The resources of every stage up to and including ``up_to``, added together."""
        total: dict[str, int] = {}
        for stage in self.stages:
            if stage.number <= up_to:
                for capability, count in stage.resources.items():
                    total[capability] = total.get(capability, 0) + count
        return total


@dataclass(frozen=True)
class PlanVersion:
    """One kept version of a plan, with who did what and when."""

    id: int
    key: str
    version: int
    status: PlanStatus
    plan: Plan
    created_by: str
    created_at: datetime
    submitted_by: str | None = None
    submitted_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    retired_by: str | None = None
    retired_at: datetime | None = None


@dataclass(frozen=True)
class Facts:
    """What has been reported about an incident that plans match on."""

    casualties: int = 0
    trapped: int = 0
    hazmat: bool = False


@dataclass(frozen=True)
class Activation:
    """A plan version activated on an incident, at an alarm stage, with its areas (GeoJSON)."""

    id: int
    incident_id: int
    version_id: int
    plan_key: str
    version: int
    stage: int
    activated_by: str
    activated_at: datetime
    evacuation: dict[str, Any] | None
    cordon: dict[str, Any] | None


@dataclass(frozen=True)
class PlanTask:
    """A task an activation created: owned by a role and department, due at a time."""

    id: int
    activation_id: int
    incident_id: int
    seq: int
    names: dict[str, str]
    role: str
    department: str
    due_at: datetime
    status: str
    done_by: str | None
    done_at: datetime | None
    overdue_alerted_at: datetime | None
