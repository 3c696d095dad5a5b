"""Geocoding benchmark: top-1 accuracy (within 50 m of the true point) by query kind, and latency.

Query files hold one JSON object per line: ``id``, ``kind``, ``query`` and the true ``lat``,
``lon``. Latency is the wall time of :meth:`gis.geocode.service.Geocoder.geocode` per query,
with the region's index already loaded (its load time is reported apart).
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gis.errors import InvalidInput
from gis.geocode.model import Candidate
from gis.geocode.query import check_query
from gis.geocode.service import Geocoder

FOUND_WITHIN_M = 50.0

NOMINATIM: dict[str, dict[str, float]] = {
    "liechtenstein": {
        "overall": 76.3,
        "clean": 95.0,
        "typo": 2.5,
        "abbrev": 94.0,
        "p50_ms": 8.0,
        "p95_ms": 17.4,
    },
    "munich": {
        "overall": 79.3,
        "clean": 98.3,
        "typo": 3.3,
        "abbrev": 98.7,
        "p50_ms": 12.5,
        "p95_ms": 22.0,
    },
}
"""Nominatim 5.3 on the shared query sets (from the GIS issue), for comparison."""


@dataclass(frozen=True, slots=True)
class BenchQuery:
    id: str
    kind: str
    query: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class KindFigures:
    queries: int
    found: int

    @property
    def accuracy(self) -> float:
        return 100.0 * self.found / self.queries if self.queries else 0.0


@dataclass
class GeocodeBenchmark:
    region: str
    queries: int
    found: int
    by_kind: dict[str, KindFigures]
    p50_ms: float
    p95_ms: float
    mean_ms: float
    max_ms: float
    index_load_ms: float
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return 100.0 * self.found / self.queries if self.queries else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "queries": self.queries,
            "found": self.found,
            "accuracy": round(self.accuracy, 2),
            "by_kind": {
                k: {"queries": v.queries, "found": v.found, "accuracy": round(v.accuracy, 2)}
                for k, v in sorted(self.by_kind.items())
            },
            "p50_ms": round(self.p50_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "mean_ms": round(self.mean_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "index_load_ms": round(self.index_load_ms, 1),
            "misses": self.misses,
        }


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(h)))


def read_queries(path: str | Path) -> list[BenchQuery]:
    """The queries of a JSONL file; a bad line is a clear error naming it."""
    file = Path(path)
    if not file.is_file():
        raise InvalidInput(
            f"query file {file} does not exist", code="bench.queries_missing", file=str(file)
        )
    out: list[BenchQuery] = []
    with file.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                q = BenchQuery(
                    id=str(obj["id"]),
                    kind=str(obj.get("kind", "all")),
                    query=check_query(obj["query"]),
                    lat=float(obj["lat"]),
                    lon=float(obj["lon"]),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidInput(
                    f"{file.name} line {n}: not a benchmark query ({exc})",
                    code="bench.query_invalid",
                    file=file.name,
                    line=n,
                    reason=str(exc),
                ) from exc
            out.append(q)
    if not out:
        raise InvalidInput(
            f"{file.name} holds no queries", code="bench.queries_empty", file=file.name
        )
    return out


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[i]


async def benchmark(
    engine: AsyncEngine, region: str, queries: list[BenchQuery], max_misses: int = 25
) -> GeocodeBenchmark:
    """Run every query once (after loading the index) and measure."""
    started = time.perf_counter()
    geocoder = Geocoder(engine)
    await geocoder.index(region)
    load_ms = 1000 * (time.perf_counter() - started)
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    timings: list[float] = []
    misses: list[dict[str, Any]] = []
    for q in queries:
        t0 = time.perf_counter()
        candidates: list[Candidate] = await geocoder.geocode(region, q.query, limit=5)
        timings.append(1000 * (time.perf_counter() - t0))
        total[q.kind] += 1
        top = candidates[0] if candidates else None
        distance = haversine_m(top.lat, top.lon, q.lat, q.lon) if top else math.inf
        if distance <= FOUND_WITHIN_M:
            found[q.kind] += 1
        elif len(misses) < max_misses:
            misses.append(
                {
                    "id": q.id,
                    "kind": q.kind,
                    "query": q.query,
                    "got": top.label if top else None,
                    "distance_m": None if top is None else round(distance, 1),
                }
            )
    ordered = sorted(timings)
    return GeocodeBenchmark(
        region=region,
        queries=len(queries),
        found=sum(found.values()),
        by_kind={k: KindFigures(total[k], found[k]) for k in total},
        p50_ms=_percentile(ordered, 0.50),
        p95_ms=_percentile(ordered, 0.95),
        mean_ms=sum(ordered) / len(ordered),
        max_ms=ordered[-1],
        index_load_ms=load_ms,
        misses=misses,
    )
