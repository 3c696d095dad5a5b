"""Which approved plans apply to a situation, ranked, each with an explanation per condition
(pure).

A plan applies when its scope holds (the incident's jurisdiction is one of the plan's, its
point inside one of the plan's zones) and every required condition holds; its score is the sum
of the weights of the conditions that held. Ranking: score, then the number of conditions
that held, then the plan key.

``PlanIndex`` keeps the approved plans by incident type and by where they apply: a plan bound
to a place (its zones, or a required distance from a named place) is filed under the map cells
its area touches, one bound to jurisdictions under them, the others everywhere. A match looks
only at the plans filed under the incident's types (and the types above them) and its cell or
jurisdiction, checks their required conditions without building anything, and explains only
the plans that apply.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from plans.conditions import (
    ConditionResult,
    NarrativeText,
    Situation,
    evaluate,
    haversine_m,
    in_hours,
    type_covers,
)
from plans.model import (
    Condition,
    CountCondition,
    HazmatCondition,
    LevelCondition,
    NearCondition,
    Plan,
    PriorityCondition,
    TimeCondition,
    TypesCondition,
    WordsCondition,
)

#: map cells of the index, in degrees (about 1.1 km north-south)
CELL_DEG = 0.01
#: a plan whose area covers more cells than this is filed by jurisdiction or everywhere
MAX_CELLS = 400
METRES_PER_DEG = 111_320.0

Check = Callable[[Situation, NarrativeText], bool]


def _check(c: Condition) -> Check:
    """A fast test of one condition: the same verdict as ``evaluate``, nothing built."""
    if isinstance(c, TypesCondition):
        codes = c.codes
        return lambda s, _t: any(type_covers(code, s.type_code) for code in codes)
    if isinstance(c, PriorityCondition):
        lo, hi = c.min, c.max
        return lambda s, _t: lo <= s.priority <= hi
    if isinstance(c, WordsCondition):
        words = c.words
        return lambda _s, t: any(t.contains(w) for w in words)
    if isinstance(c, NearCondition):
        lon, lat, metres = c.lon, c.lat, c.within_m
        return lambda s, _t: haversine_m(s.lon, s.lat, lon, lat) <= metres
    if isinstance(c, TimeCondition):
        hours, days, months = c.hours, c.weekdays, c.months
        return lambda s, _t: (
            (hours is None or in_hours(s.local_time.hour, *hours))
            and (not days or s.local_time.weekday() in days)
            and (not months or s.local_time.month in months)
        )
    if isinstance(c, CountCondition):
        name, at_least = c.kind, c.at_least
        return lambda s, _t: int(getattr(s, name)) >= at_least
    if isinstance(c, HazmatCondition):
        present = c.present
        return lambda s, _t: s.hazmat == present
    assert isinstance(c, LevelCondition)
    level = c.at_least
    return lambda s, _t: s.response_level <= level


Explain = Callable[[Situation, NarrativeText], ConditionResult]


def _explainer(c: Condition) -> Explain:
    """The explanation of one condition, with what the plan asks worked out once: the same
    result as ``evaluate`` (the reference), built faster."""
    kind, required, weight = c.kind, c.required, c.weight
    if isinstance(c, PriorityCondition):
        lo, hi, wanted = c.min, c.max, f"{c.min}..{c.max}"
        return lambda s, _t: ConditionResult(
            kind, lo <= s.priority <= hi, required, weight, wanted, s.priority
        )
    if isinstance(c, CountCondition):
        at_least, wanted = c.at_least, f">= {c.at_least}"

        def count(s: Situation, _t: NarrativeText) -> ConditionResult:
            value = int(getattr(s, kind))
            return ConditionResult(kind, value >= at_least, required, weight, wanted, value)

        return count
    if isinstance(c, HazmatCondition):
        present = c.present
        return lambda s, _t: ConditionResult(
            kind, s.hazmat == present, required, weight, present, s.hazmat
        )
    if isinstance(c, WordsCondition):
        words, listed = c.words, list(c.words)

        def found(_s: Situation, t: NarrativeText) -> ConditionResult:
            hits = [w for w in words if t.contains(w)]
            return ConditionResult(kind, bool(hits), required, weight, listed, hits)

        return found
    return lambda s, t: evaluate(c, s, t)


@dataclass(frozen=True)
class CompiledPlan:
    """An approved plan version, made ready to match (zones as prepared shapes, required
    conditions as fast checks, the area it is bound to)."""

    version_id: int
    version: int
    plan: Plan
    zones: tuple[tuple[str, BaseGeometry], ...] = ()
    checks: tuple[Check, ...] = ()
    explainers: tuple[Explain, ...] = ()
    names: dict[str, str] = field(default_factory=dict)
    #: west, south, east, north of the area the plan is bound to; None: not bound to one
    bounds: tuple[float, float, float, float] | None = None

    @classmethod
    def of(cls, version_id: int, version: int, plan: Plan) -> CompiledPlan:
        zones = []
        for zone in plan.scope.zones:
            geom = shape(zone.geometry)
            shapely.prepare(geom)
            zones.append((zone.name, geom))
        bounds: tuple[float, float, float, float] | None = None
        if zones:
            boxes = [g.bounds for _, g in zones]
            bounds = (
                min(b[0] for b in boxes),
                min(b[1] for b in boxes),
                max(b[2] for b in boxes),
                max(b[3] for b in boxes),
            )
        else:
            for c in plan.conditions:
                if isinstance(c, NearCondition) and c.required:
                    dlat = c.within_m / METRES_PER_DEG
                    dlon = dlat / max(math.cos(math.radians(c.lat)), 0.01)
                    bounds = (c.lon - dlon, c.lat - dlat, c.lon + dlon, c.lat + dlat)
        # The index files a plan under its types, so its candidates need no type check.
        checks = tuple(
            _check(c) for c in plan.conditions if c.required and not isinstance(c, TypesCondition)
        )
        explainers = tuple(_explainer(c) for c in plan.conditions)
        return cls(
            version_id, version, plan, tuple(zones), checks, explainers, dict(plan.names), bounds
        )

    @property
    def key(self) -> str:
        return self.plan.key

    @property
    def type_codes(self) -> tuple[str, ...]:
        for c in self.plan.conditions:
            if isinstance(c, TypesCondition):
                return c.codes
        return ()

    def passes(self, s: Situation, text: NarrativeText) -> bool:
        """Does the plan apply? (Its scope and every required condition hold; its type is
        the index's to check.)"""
        jurisdictions = self.plan.scope.jurisdictions
        if jurisdictions and s.jurisdiction not in jurisdictions:
            return False
        if self.zones:
            point = Point(s.lon, s.lat)
            if not any(geom.contains(point) for _, geom in self.zones):
                return False
        return all(check(s, text) for check in self.checks)


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


def evaluate_plan(
    plan: CompiledPlan, s: Situation, text: NarrativeText, *, reference: bool = False
) -> Match:
    """Every condition of ``plan`` against ``s``, with its verdict (``reference``: through
    ``evaluate`` itself rather than the plan's compiled explainers)."""
    results = _scope_results(plan, s)
    if reference:
        results.extend(evaluate(c, s, text) for c in plan.plan.conditions)
    else:
        results.extend(explain(s, text) for explain in plan.explainers)
    applies = all(r.held for r in results if r.required)
    score = sum(r.weight for r in results if r.held)
    return Match(
        plan.key, plan.version_id, plan.version, plan.names, applies, score, tuple(results)
    )


def rank(matches: Iterable[Match]) -> list[Match]:
    """The plans that apply, best first."""
    return sorted((m for m in matches if m.applies), key=lambda m: (-m.score, -m.held, m.key))


def type_prefixes(type_code: str) -> list[str]:
    """``fire.structure`` -> ``fire.structure``, ``fire``."""
    parts = type_code.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def cell_of(lon: float, lat: float) -> tuple[int, int]:
    return math.floor(lon / CELL_DEG), math.floor(lat / CELL_DEG)


EVERYWHERE = ("*",)


def _places(plan: CompiledPlan) -> list[Hashable]:
    """Where the plan is filed: its cells, else its jurisdictions, else everywhere."""
    if plan.bounds is not None:
        (x0, y0), (x1, y1) = cell_of(*plan.bounds[:2]), cell_of(*plan.bounds[2:])
        if (x1 - x0 + 1) * (y1 - y0 + 1) <= MAX_CELLS:
            return [("cell", x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    if plan.plan.scope.jurisdictions:
        return [("j", name) for name in plan.plan.scope.jurisdictions]
    return [EVERYWHERE]


@dataclass
class PlanIndex:
    """The approved plans by incident type and by where they apply."""

    buckets: dict[tuple[str, Hashable], list[CompiledPlan]] = field(
        default_factory=lambda: defaultdict(list)
    )
    size: int = 0

    @classmethod
    def of(cls, plans: Iterable[CompiledPlan]) -> PlanIndex:
        index = cls()
        for plan in plans:
            index.add(plan)
        return index

    def add(self, plan: CompiledPlan) -> None:
        places = _places(plan)
        for code in set(plan.type_codes):
            for place in places:
                self.buckets[(code, place)].append(plan)
        self.size += 1

    def candidates(self, s: Situation) -> list[CompiledPlan]:
        """The plans filed under the situation's types and place (each once)."""
        cell = ("cell", *cell_of(s.lon, s.lat))
        seen: dict[int, CompiledPlan] = {}
        for prefix in type_prefixes(s.type_code):
            for place in (cell, ("j", s.jurisdiction), EVERYWHERE):
                for plan in self.buckets.get((prefix, place), ()):
                    seen.setdefault(plan.version_id, plan)
        return list(seen.values())

    def match(self, s: Situation) -> list[Match]:
        """The plans that apply to ``s``, ranked, with their explanations."""
        text = NarrativeText.of(s.narrative)
        return rank(evaluate_plan(p, s, text) for p in self.candidates(s) if p.passes(s, text))


def match_all(plans: Sequence[CompiledPlan], s: Situation) -> list[Match]:
    """Every plan evaluated, without the index (what ``PlanIndex.match`` must agree with)."""
    text = NarrativeText.of(s.narrative)
    return rank(evaluate_plan(p, s, text, reference=True) for p in plans)
