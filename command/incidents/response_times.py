"""Response-time figures from stored timestamps (pure).

Intervals per incident (seconds):

- ``call_processing``: call answered -> first unit dispatched (NFPA 1221 "alarm processing";
  China 120 "dispatched within 3 minutes" for ambulances);
- ``creation``: call answered -> incident created (call-taking);
- ``dispatch``: incident created -> first unit dispatched;
- ``turnout``: first unit dispatched -> first unit en route (NFPA 1710);
- ``travel``: first unit en route -> first unit on scene;
- ``engine_travel``: the first engine on scene, from its own en route to its arrival
  (NFPA 1710: first engine travel 240 s);
- ``total``: call answered (else created) -> first unit on scene.

Percentiles use the nearest-rank method (the value at or below which that share of incidents
lies), the way NFPA 90th-percentile compliance is usually reported. Targets are configuration:
an interval, the incident categories they apply to, a limit and the share that must meet it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from command.errors import InvalidInput

INTERVALS: tuple[str, ...] = (
    "call_processing",
    "creation",
    "dispatch",
    "turnout",
    "travel",
    "engine_travel",
    "total",
)
#: Upper edges (seconds) of the distribution buckets; the last bucket is open-ended.
DEFAULT_BUCKETS: tuple[float, ...] = (30, 60, 90, 120, 180, 240, 300, 480, 600, 900)


@dataclass(frozen=True)
class IncidentTimes:
    """The stored timestamps of one incident (``None`` when the step did not happen)."""

    incident_id: int
    number: str
    type_code: str
    jurisdiction: str
    created_at: datetime
    call_answered_at: datetime | None = None
    first_dispatched_at: datetime | None = None
    first_en_route_at: datetime | None = None
    first_on_scene_at: datetime | None = None
    first_engine_en_route_at: datetime | None = None
    first_engine_on_scene_at: datetime | None = None

    @property
    def category(self) -> str:
        return self.type_code.split(".", 1)[0]


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    value = (end - start).total_seconds()
    return value if value >= 0 else None


def intervals(t: IncidentTimes) -> dict[str, float | None]:
    """Every interval of one incident; ``None`` where a timestamp is missing or out of order."""
    start = t.call_answered_at or t.created_at
    return {
        "call_processing": _seconds(t.call_answered_at, t.first_dispatched_at),
        "creation": _seconds(t.call_answered_at, t.created_at),
        "dispatch": _seconds(t.created_at, t.first_dispatched_at),
        "turnout": _seconds(t.first_dispatched_at, t.first_en_route_at),
        "travel": _seconds(t.first_en_route_at, t.first_on_scene_at),
        "engine_travel": _seconds(t.first_engine_en_route_at, t.first_engine_on_scene_at),
        "total": _seconds(start, t.first_on_scene_at),
    }


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (``p`` in 0..100); ``None`` for no values."""
    if not 0 < p <= 100:
        raise InvalidInput(
            f"percentile {p} is outside 0..100",
            code="figures.percentile_range",
            percentile=p,
            min=0,
            max=100,
        )
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def distribution(
    values: Iterable[float], buckets: Sequence[float] = DEFAULT_BUCKETS
) -> list[tuple[str, int]]:
    """Counts per bucket, labelled ``"<=60"`` and a last ``">900"``."""
    edges = list(buckets)
    if edges != sorted(edges) or len(set(edges)) != len(edges):
        raise InvalidInput(
            "bucket edges must be strictly increasing",
            code="figures.buckets_unordered",
            edges=edges,
        )
    counts = [0] * (len(edges) + 1)
    for v in values:
        for i, edge in enumerate(edges):
            if v <= edge:
                counts[i] += 1
                break
        else:
            counts[-1] += 1
    labels = [f"<={e:g}" for e in edges] + [f">{edges[-1]:g}" if edges else "all"]
    return list(zip(labels, counts, strict=True))


@dataclass(frozen=True)
class Target:
    """A standard: ``share`` of incidents of ``categories`` meet ``interval`` within ``limit_s``."""

    name: str
    interval: str
    limit_s: float
    share: float
    categories: frozenset[str] = frozenset()  # empty: every category

    def __post_init__(self) -> None:
        if self.interval not in INTERVALS:
            raise InvalidInput(
                f"unknown interval {self.interval!r}; known: {', '.join(INTERVALS)}",
                code="target.interval_unknown",
                interval=self.interval,
                known=list(INTERVALS),
            )
        if self.limit_s <= 0 or not 0 < self.share <= 1:
            raise InvalidInput(
                f"target {self.name}: limit must be > 0 and share in (0, 1]",
                code="target.limit_share_range",
                target=self.name,
                limit_s=self.limit_s,
                share=self.share,
            )

    def applies_to(self, category: str) -> bool:
        return not self.categories or category in self.categories


DEFAULT_TARGETS: tuple[Target, ...] = (
    Target("NFPA 1221 alarm processing", "call_processing", 64.0, 0.90),
    Target("NFPA 1710 turnout (medical)", "turnout", 60.0, 0.90, frozenset({"medical"})),
    Target(
        "NFPA 1710 turnout (fire)",
        "turnout",
        80.0,
        0.90,
        frozenset({"fire", "hazmat", "rescue", "traffic_collision"}),
    ),
    Target("NFPA 1710 first engine travel", "engine_travel", 240.0, 0.90, frozenset({"fire"})),
    Target(
        "China 120 ambulance dispatched", "call_processing", 180.0, 0.95, frozenset({"medical"})
    ),
)


@dataclass(frozen=True)
class IntervalStats:
    interval: str
    count: int
    p50: float | None
    p90: float | None
    maximum: float | None
    distribution: list[tuple[str, int]]


@dataclass(frozen=True)
class TargetResult:
    target: Target
    count: int
    met: int
    share_met: float | None  # None when no incident had this interval

    @property
    def passed(self) -> bool | None:
        return None if self.share_met is None else self.share_met >= self.target.share


@dataclass(frozen=True)
class GroupReport:
    """Figures for one group (e.g. type ``fire`` in jurisdiction ``Vaduz`` in ``2026-11``)."""

    key: Mapping[str, str]
    incidents: int
    intervals: Mapping[str, IntervalStats]
    targets: Sequence[TargetResult]


def period_of(at: datetime, period: str) -> str:
    """``day`` 2026-11-21, ``week`` 2026-W47, ``month`` 2026-11, ``year`` 2026, ``all``."""
    if period == "day":
        return at.date().isoformat()
    if period == "week":
        iso = at.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if period == "month":
        return f"{at.year}-{at.month:02d}"
    if period == "year":
        return str(at.year)
    if period == "all":
        return "all"
    raise InvalidInput(
        f"period {period!r} is not one of day, week, month, year, all",
        code="figures.period_unknown",
        period=period,
        known=["day", "week", "month", "year", "all"],
    )


GROUPINGS: dict[str, Callable[[IncidentTimes], str]] = {
    "type": lambda t: t.type_code,
    "category": lambda t: t.category,
    "jurisdiction": lambda t: t.jurisdiction,
}


def report(
    times: Iterable[IncidentTimes],
    *,
    group_by: Sequence[str] = ("category",),
    period: str = "all",
    targets: Sequence[Target] = DEFAULT_TARGETS,
    buckets: Sequence[float] = DEFAULT_BUCKETS,
) -> list[GroupReport]:
    """Per group (any of type, category, jurisdiction, plus the period): stats and targets."""
    for g in group_by:
        if g not in GROUPINGS:
            raise InvalidInput(
                f"cannot group by {g!r}; use {', '.join(GROUPINGS)}",
                code="figures.grouping_unknown",
                group_by=g,
                known=list(GROUPINGS),
            )
    groups: dict[tuple[str, ...], list[IncidentTimes]] = defaultdict(list)
    for t in times:
        key = (period_of(t.created_at, period), *(GROUPINGS[g](t) for g in group_by))
        groups[key].append(t)
    out: list[GroupReport] = []
    for key in sorted(groups):
        members = groups[key]
        per_incident = [(m, intervals(m)) for m in members]
        stats: dict[str, IntervalStats] = {}
        for name in INTERVALS:
            values = [iv[name] for _, iv in per_incident if iv[name] is not None]
            vals = [v for v in values if v is not None]
            stats[name] = IntervalStats(
                name,
                len(vals),
                percentile(vals, 50),
                percentile(vals, 90),
                max(vals) if vals else None,
                distribution(vals, buckets),
            )
        results: list[TargetResult] = []
        for target in targets:
            vals = [
                v
                for m, iv in per_incident
                if target.applies_to(m.category) and (v := iv[target.interval]) is not None
            ]
            met = sum(1 for v in vals if v <= target.limit_s)
            results.append(TargetResult(target, len(vals), met, met / len(vals) if vals else None))
        out.append(
            GroupReport(
                {"period": key[0], **dict(zip(group_by, key[1:], strict=True))},
                len(members),
                stats,
                results,
            )
        )
    return out


CSV_COLUMNS: tuple[str, ...] = (
    "number",
    "type",
    "jurisdiction",
    "created_at",
    "call_answered_at",
    "first_dispatched_at",
    "first_en_route_at",
    "first_on_scene_at",
    *(f"{name}_s" for name in INTERVALS),
)


def csv_rows(times: Iterable[IncidentTimes]) -> list[dict[str, str]]:
    """One row per incident with its timestamps (ISO 8601) and intervals (seconds)."""

    def iso(at: datetime | None) -> str:
        return "" if at is None else at.isoformat()

    rows: list[dict[str, str]] = []
    for t in times:
        iv = intervals(t)
        row = {
            "number": t.number,
            "type": t.type_code,
            "jurisdiction": t.jurisdiction,
            "created_at": iso(t.created_at),
            "call_answered_at": iso(t.call_answered_at),
            "first_dispatched_at": iso(t.first_dispatched_at),
            "first_en_route_at": iso(t.first_en_route_at),
            "first_on_scene_at": iso(t.first_on_scene_at),
        }
        for name in INTERVALS:
            value = iv[name]
            row[f"{name}_s"] = "" if value is None else f"{value:.1f}"
        rows.append(row)
    return rows


def targets_from_mapping(raw: Sequence[Mapping[str, object]]) -> tuple[Target, ...]:
    """Targets from configuration: ``[{"name", "interval", "limit_s", "share", "categories"}]``."""
    out: list[Target] = []
    for entry in raw:
        try:
            cats = entry.get("categories", ())
            out.append(
                Target(
                    str(entry["name"]),
                    str(entry["interval"]),
                    float(entry["limit_s"]),  # type: ignore[arg-type]
                    float(entry["share"]),  # type: ignore[arg-type]
                    frozenset(str(c) for c in cats),  # type: ignore[attr-defined]
                )
            )
        except KeyError as exc:
            raise InvalidInput(
                f"a response-time target needs {exc.args[0]!r}",
                code="target.field_missing",
                field=exc.args[0],
            ) from None
    return tuple(out)
