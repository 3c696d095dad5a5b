"""Which approved plans apply to a situation, ranked, each with an explanation per condition
(pure).

A plan applies when its scope holds (the incident's jurisdiction is one of the plan's, its
point inside one of the plan's zones) and every required condition holds; its score is the sum
of the weights of the conditions that held. Ranking: score, then the number of conditions
that held, then the plan key. ``PlanIndex`` keeps the approved plans by incident type, so a
match looks only at the plans that name the incident's type or one above it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from plans.conditions import ConditionResult, NarrativeText, Situation, evaluate
from plans.model import Plan, TypesCondition


@dataclass(frozen=True)
class CompiledPlan:
    """An approved plan version, made ready to match (zones as prepared shapes)."""

    version_id: int
    version: int
    plan: Plan
    zones: tuple[tuple[str, BaseGeometry], ...] = ()

    @classmethod
    def of(cls, version_id: int, version: int, plan: Plan) -> CompiledPlan:
        zones = []
        for zone in plan.scope.zones:
            geom = shape(zone.geometry)
            shapely.prepare(geom)
            zones.append((zone.name, geom))
        return cls(version_id, version, plan, tuple(zones))

    @property
    def key(self) -> str:
        return self.plan.key

    @property
    def type_codes(self) -> tuple[str, ...]:
        for c in self.plan.conditions:
            if isinstance(c, TypesCondition):
                return c.codes
        return ()


@dataclass(frozen=True)
class Match:
    """A plan and how it fared against the situation."""

    key: str
    version_id: int
    version: int
    names: dict[str, str]
    applies: bool
    score: float
    results: tuple[ConditionResult, ...]

    @property
    def held(self) -> int:
        return sum(1 for r in self.results if r.held)


def _scope_results(plan: CompiledPlan, s: Situation) -> list[ConditionResult]:
    results = []
    jurisdictions = plan.plan.scope.jurisdictions
    if jurisdictions:
        results.append(
            ConditionResult(
                "scope.jurisdictions",
                s.jurisdiction in jurisdictions,
                True,
                0.0,
                list(jurisdictions),
                s.jurisdiction,
            )
        )
    if plan.zones:
        point = Point(s.lon, s.lat)
        inside = [name for name, geom in plan.zones if geom.contains(point)]
        results.append(
            ConditionResult(
                "scope.zones", bool(inside), True, 1.0, [n for n, _ in plan.zones], inside
            )
        )
    return results


def evaluate_plan(plan: CompiledPlan, s: Situation, text: NarrativeText) -> Match:
    """Every condition of ``plan`` against ``s``, with its verdict."""
    results = _scope_results(plan, s)
    results.extend(evaluate(c, s, text) for c in plan.plan.conditions)
    applies = all(r.held for r in results if r.required)
    score = sum(r.weight for r in results if r.held)
    return Match(
        plan.key,
        plan.version_id,
        plan.version,
        dict(plan.plan.names),
        applies,
        score,
        tuple(results),
    )


def rank(matches: Iterable[Match]) -> list[Match]:
    """The plans that apply, best first."""
    return sorted((m for m in matches if m.applies), key=lambda m: (-m.score, -m.held, m.key))


def type_prefixes(type_code: str) -> list[str]:
    """``fire.structure`` -> ``fire.structure``, ``fire``."""
    parts = type_code.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


@dataclass
class PlanIndex:
    """The approved plans by the incident type codes they name."""

    by_type: dict[str, list[CompiledPlan]] = field(default_factory=lambda: defaultdict(list))
    size: int = 0

    @classmethod
    def of(cls, plans: Iterable[CompiledPlan]) -> PlanIndex:
        index = cls()
        for plan in plans:
            index.add(plan)
        return index

    def add(self, plan: CompiledPlan) -> None:
        for code in set(plan.type_codes):
            self.by_type[code].append(plan)
        self.size += 1

    def candidates(self, type_code: str) -> list[CompiledPlan]:
        seen: dict[int, CompiledPlan] = {}
        for prefix in type_prefixes(type_code):
            for plan in self.by_type.get(prefix, ()):
                seen.setdefault(plan.version_id, plan)
        return list(seen.values())

    def match(self, s: Situation) -> list[Match]:
        """The plans that apply to ``s``, ranked, with their explanations."""
        text = NarrativeText.of(s.narrative)
        return rank(evaluate_plan(p, s, text) for p in self.candidates(s.type_code))


def match_all(plans: Sequence[CompiledPlan], s: Situation) -> list[Match]:
    """Every plan evaluated, without the index (what ``PlanIndex.match`` must agree with)."""
    text = NarrativeText.of(s.narrative)
    return rank(evaluate_plan(p, s, text) for p in plans)
