"""``cad bench geocode``: top-1 accuracy (the first candidate within 50 m of the true point) by
query kind, and latency per query, of our geocoder against the baseline in the same run.

The baseline is what a team without our geocoder would build on the same PostGIS database: a
trigram search (``command.bench.geocode_trigram``). Query files hold one JSON object per line:
``id``, ``kind``, ``query`` and the true ``lat``, ``lon``. Our latency is the wall time of
:meth:`gis.geocode.service.Geocoder.geocode` with the region's index loaded (its load time is
reported apart); the baseline's is the wall time of its SQL statement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from command import bootstrap
from command.bench.geocode_trigram import TrigramGeocoder
from command.bench.stats import Timing, load_average
from command.errors import InvalidInput
from command.settings import Settings
from gis.geocode.query import check_query

FOUND_WITHIN_M = 50.0


class _Answer(Protocol):
    @property
    def lat(self) -> float: ...
    @property
    def lon(self) -> float: ...
    @property
    def label(self) -> str: ...


Search = Callable[[str], Awaitable[Sequence[_Answer]]]


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
    """One method's figures on a query set."""

    method: str
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
            "method": self.method,
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


async def measure(
    method: str,
    region: str,
    search: Search,
    queries: Sequence[BenchQuery],
    load_ms: float = 0.0,
    max_misses: int = 25,
) -> GeocodeBenchmark:
    """Run every query once through ``search`` and measure."""
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    timings: list[float] = []
    misses: list[dict[str, Any]] = []
    for q in queries:
        t0 = time.perf_counter()
        candidates = await search(q.query)
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
    timing = Timing.of(timings)
    return GeocodeBenchmark(
        method=method,
        region=region,
        queries=len(queries),
        found=sum(found.values()),
        by_kind={k: KindFigures(total[k], found[k]) for k in total},
        p50_ms=timing.p50_ms,
        p95_ms=timing.p95_ms,
        mean_ms=sum(timings) / len(timings),
        max_ms=timing.max_ms,
        index_load_ms=load_ms,
        misses=misses,
    )


async def run(
    settings: Settings, region: str, queries: Sequence[BenchQuery]
) -> tuple[GeocodeBenchmark, GeocodeBenchmark]:
    """Ours, then the trigram baseline, on the same database and queries."""
    async with bootstrap.parts(settings) as parts:
        started = time.perf_counter()
        await parts.geocoder.index(region)
        load_ms = 1000 * (time.perf_counter() - started)

        async def ours(query: str) -> Sequence[_Answer]:
            return await parts.geocoder.geocode(region, query, limit=5)

        trigram = TrigramGeocoder(parts.engine)

        async def baseline(query: str) -> Sequence[_Answer]:
            return await trigram.geocode(region, query)

        await baseline(queries[0].query)  # the session's first statement loads pg_trgm
        mine = await measure("ours", region, ours, queries, load_ms)
        theirs = await measure("trigram", region, baseline, queries)
    return mine, theirs


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "geocode", help="geocoding accuracy by query kind and latency, vs a trigram search"
    )
    bench.add_argument("--region", help="an imported region")
    bench.add_argument("--queries", type=Path, help="JSONL query set")
    bench.add_argument(
        "--city",
        type=int,
        metavar="N",
        help="instead: a region of N addresses generated from --sources, its index's footprint, "
        "load time and latency",
    )
    bench.add_argument(
        "--sources", default="liechtenstein,munich", help="imported regions the city copies"
    )
    bench.add_argument(
        "--load-only",
        action="store_true",
        help="instead: load --region's index in this process, its time and memory (RSS, PSS, USS)",
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(handler=bench_cmd)


def city_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from command.bench.geocode_city import run_city

    if not 1_000 <= args.city <= 5_000_000:
        raise InvalidInput(
            "--city takes 1000 to 5000000 addresses", code="bench.city_size", addresses=args.city
        )
    load = load_average()
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    figures = asyncio.run(run_city(settings, args.city, sources, 2_000, 20))
    out = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_average": round(load, 2)}
    out |= figures.as_dict()
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    d = figures.as_dict()
    print(f"geocoding city of {d['addresses']:,} addresses (load average {load:.2f})")
    print(f"generated in the database in {d['generate_s']} s")
    print(f"index load {d['index_load_s']} s, {d['index_mib']} MiB resident")
    per = d["per_100k_addresses"]
    print(f"per 100,000 addresses: load {per['load_s']} s, {per['mib']} MiB")
    print(f"first process: {_process_line(d['first_process'])}")
    print(f"second process: {_process_line(d['second_process'])}")
    for name in ("ours", "trigram"):
        f = d[name]
        print(
            f"{name:<8} {f['found']}/{f['queries']} within 50 m, p50 {f['p50_ms']:.2f} ms, "
            f"p95 {f['p95_ms']:.2f} ms, max {f['max_ms']:.1f} ms"
        )
    return 0


def _process_line(f: dict[str, Any]) -> str:
    if "rss_mib" not in f:
        return f"failed ({f})"
    load = f"load {f['load_s']} s, " if "load_s" in f else ""
    source = "mapped from the snapshot" if f["from_snapshot"] else "built from the database"
    return (
        f"{load}{source}; RSS {f['rss_mib']} MiB, PSS {f['pss_mib']} MiB, "
        f"USS {f['uss_mib']} MiB, snapshot pages {f['snapshot_mapped_mib']} MiB"
    )


def load_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from command.bench.geocode_city import load_in_this_process

    if args.region is None:
        raise InvalidInput(
            "cad bench geocode --load-only needs --region", code="bench.geocode_arguments"
        )
    figures = asyncio.run(load_in_this_process(settings, args.region))
    print(json.dumps(figures, indent=2) if args.json else _process_line(figures))
    return 0


def bench_cmd(args: argparse.Namespace, settings: Settings) -> int:
    if args.city is not None:
        return city_cmd(args, settings)
    if args.load_only:
        return load_cmd(args, settings)
    if args.region is None or args.queries is None:
        raise InvalidInput(
            "cad bench geocode needs --region and --queries (or --city N)",
            code="bench.geocode_arguments",
        )
    queries = read_queries(args.queries)
    load = load_average()
    mine, theirs = asyncio.run(run(settings, args.region, queries))
    figures = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "queries_file": str(args.queries),
        "load_average": round(load, 2),
        "ours": mine.as_dict(),
        "trigram": theirs.as_dict(),
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return 0
    print(f"geocoding, region {mine.region}, {mine.queries} queries (load average {load:.2f})")
    print(f"{'kind':<15} {'queries':>7} {'ours':>7} {'trigram':>8}")
    rows = [("overall", mine.queries, mine.accuracy, theirs.accuracy)]
    rows += [
        (k, v.queries, v.accuracy, theirs.by_kind[k].accuracy)
        for k, v in sorted(mine.by_kind.items())
    ]
    for kind, n, ours, base in rows:
        print(f"{kind:<15} {n:>7} {ours:>6.1f}% {base:>7.1f}%")
    for name in ("p50_ms", "p95_ms"):
        print(f"{name:<15} {'':>7} {getattr(mine, name):>5.2f}ms {getattr(theirs, name):>6.2f}ms")
    print(f"index load {mine.index_load_ms:.0f} ms")
    return 0
