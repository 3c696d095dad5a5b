"""``cad bench route``: drive times from many units to one incident, on a country and a city.

In a scratch database: the extract (``--pbf``, Liechtenstein by default) is imported as a
region, and a city-sized network is generated from its roads (:mod:`command.bench.city`,
``--tiles`` copies stitched into one network). On each region, each run draws one incident and
``--units`` unit positions at random places on the roads (seeded), and times, in this process:

- **in memory**: :meth:`gis.routing.RoadGraphs.drive_times` (snapping on an STRtree, one
  Dijkstra search on the region's graph held in memory, read once per import);
- **pgRouting**: :class:`command.bench.baseline.PgRoutingBaseline`, what a team would
  build with pgRouting alone: ONE statement per incident, snapping in SQL (nearest edge by
  ``<->`` on the geometry index), the partial edges at both ends as virtual edges, and one
  ``pgr_dijkstraCost`` from the incident to every unit on the reversed graph
  (:func:`gis.routing_sql.drive_times`).

The two alternate on the same incidents (the baseline on the first ``--baseline-runs``), and
their answers are compared. Reading the graph (seconds, and the memory it takes) is reported
apart: it happens once per import, not per incident.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import json
import os
import random
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command.bench.baseline import Origins, PgRoutingBaseline
from command.bench.city import CITY, City, build_city, parse_tiles
from command.bench.scenarios import random_road_points
from command.bench.scratch import analyse, drop_on_sigterm, scratch_engine
from command.bench.stats import Timing, load_average
from command.cli.common import ensure_embedded_running
from command.errors import InvalidInput
from command.settings import Settings
from gis.osm_import import import_osm
from gis.routing import MAX_ORIGINS, RoadGraphs

GOAL_P95_MS = 50.0
"""On the city, 1 incident x 200 units."""
GOAL_SPEEDUP = 5.0
"""On the city, against the pgRouting baseline (p50 and p95)."""


@dataclass(frozen=True, slots=True)
class GraphLoad:
    """Reading one region's graph into memory."""

    edges: int
    vertices: int
    core_vertices: int
    """Vertices the search visits (:mod:`gis.roadcore`)."""
    seconds: float
    array_mb: float
    """Held in numpy arrays (the graph, the snapping arrays)."""
    resident_mb: float
    """Growth of the process's resident memory that stays: arrays, geometries, spatial
    index."""


@dataclass(frozen=True, slots=True)
class RegionResult:
    region: str
    units: int
    load: GraphLoad
    ours: Timing
    baseline: Timing
    speedup_p50: float
    speedup_p95: float
    max_disagreement_s: float
    """Largest difference between the two answers for one unit."""
    mismatched: int
    """Units with a time from one method and none from the other."""
    unreachable_share: float


@dataclass(frozen=True, slots=True)
class RouteBenchmark:
    seed: int
    city: City
    regions: list[RegionResult]
    setup_s: float
    load_before: float
    load_after: float

    def goal_met(self) -> bool:
        city = next(r for r in self.regions if r.region == self.city.region)
        return (
            city.ours.p95_ms < GOAL_P95_MS
            and city.speedup_p50 >= GOAL_SPEEDUP
            and city.speedup_p95 >= GOAL_SPEEDUP
        )


def resident_mb() -> float:
    """This process's resident memory (Linux ``/proc``), once the garbage is collected and
    freed memory handed back (glibc keeps it otherwise, and the rows read are garbage)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _load(roads: RoadGraphs, conn: AsyncConnection, region: str) -> GraphLoad:
    before = resident_mb()
    started = time.perf_counter()
    graph = await roads.graph(conn, region)
    seconds = time.perf_counter() - started
    return GraphLoad(
        edges=graph.edges,
        vertices=len(graph.vertex_ids),
        core_vertices=graph.core.size,
        seconds=seconds,
        array_mb=graph.nbytes / 2**20,
        resident_mb=resident_mb() - before,
    )


async def measure_region(
    engine: AsyncEngine, region: str, units: int, runs: int, baseline_runs: int, seed: int
) -> RegionResult:
    """Both methods on the same seeded incidents of ``region``."""
    roads = RoadGraphs()
    baseline = PgRoutingBaseline()
    rng = random.Random(seed)  # noqa: S311 - reproducible positions, not secrets
    async with engine.connect() as conn:
        load = await _load(roads, conn, region)
        scenarios: list[tuple[Origins, tuple[float, float]]] = []
        for _ in range(max(runs, baseline_runs) + 1):
            points = await random_road_points(conn, region, units + 1, rng)
            fleet = [(f"unit-{n}", lon, lat) for n, (lon, lat) in enumerate(points[1:])]
            scenarios.append((fleet, points[0]))
        await baseline.prepare(conn, region)
        # Warm both (pgRouting loaded, caches filled); not counted.
        await roads.drive_times(conn, region, *scenarios[0])
        await baseline(conn, region, *scenarios[0])
        ours: list[float] = []
        theirs: list[float] = []
        worst = 0.0
        mismatched = missing = total = 0
        for n, (origins, dest) in enumerate(scenarios[1:]):
            if n < runs:
                started = time.perf_counter()
                mine = await roads.drive_times(conn, region, origins, dest)
                ours.append((time.perf_counter() - started) * 1000.0)
                total += len(mine)
                missing += sum(1 for v in mine.values() if v is None)
            if n < baseline_runs:
                started = time.perf_counter()
                other = await baseline(conn, region, origins, dest)
                theirs.append((time.perf_counter() - started) * 1000.0)
                if n >= runs:
                    mine = await roads.drive_times(conn, region, origins, dest)
                for ident, seconds in mine.items():
                    there = other[ident]
                    if (seconds is None) != (there is None):
                        mismatched += 1
                    elif seconds is not None and there is not None:
                        worst = max(worst, abs(seconds - there))
    ours_t, theirs_t = Timing.of(ours), Timing.of(theirs)
    return RegionResult(
        region=region,
        units=units,
        load=load,
        ours=ours_t,
        baseline=theirs_t,
        speedup_p50=theirs_t.p50_ms / ours_t.p50_ms,
        speedup_p95=theirs_t.p95_ms / ours_t.p95_ms,
        max_disagreement_s=worst,
        mismatched=mismatched,
        unreachable_share=missing / total if total else 0.0,
    )


async def run_benchmark(
    settings: Settings,
    pbf: Path,
    base: str,
    tiles: tuple[int, int],
    *,
    units: int,
    runs: int,
    baseline_runs: int,
    seed: int,
    links: int = 8,
) -> RouteBenchmark:
    load_before = load_average()
    async with scratch_engine(settings) as engine:
        started = time.perf_counter()
        await import_osm(engine, pbf, base)
        async with engine.begin() as conn:
            city = await build_city(conn, base, CITY, *tiles, links=links, seed=seed)
        await analyse(engine)
        setup_s = time.perf_counter() - started
        regions = [
            await measure_region(engine, region, units, runs, baseline_runs, seed)
            for region in (base, CITY)
        ]
    return RouteBenchmark(
        seed=seed,
        city=city,
        regions=regions,
        setup_s=setup_s,
        load_before=load_before,
        load_after=load_average(),
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "route",
        help="drive times, 1 incident x many units: in memory vs one pgRouting query",
    )
    bench.add_argument(
        "--pbf", type=Path, default=None, help="OSM extract (default: shared/data/osm/REGION)"
    )
    bench.add_argument("--region", default="liechtenstein", help="name of the imported region")
    bench.add_argument(
        "--tiles", default="6x6", help="the city: COLSxROWS copies of the region's roads"
    )
    bench.add_argument("--links", type=int, default=8, help="connector roads per tile border")
    bench.add_argument("--units", type=int, default=200, help="unit positions per incident")
    bench.add_argument("--runs", type=int, default=100, help="incidents timed in memory")
    bench.add_argument(
        "--baseline-runs", type=int, default=20, help="incidents timed with pgRouting"
    )
    bench.add_argument("--seed", type=int, default=20261121, help="random positions seed")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(handler=bench_cmd)


def _report(result: RouteBenchmark) -> str:
    lines = []
    for r in result.regions:
        lines += [
            f"{r.region}: {r.load.edges:,} edges, {r.load.vertices:,} vertices "
            f"({r.load.core_vertices:,} in the core); graph read in "
            f"{r.load.seconds:.2f} s, {r.load.array_mb:.1f} MB in arrays, "
            f"{r.load.resident_mb:.0f} MB resident",
            f"  in memory  {r.ours.line()}",
            f"  pgRouting  {r.baseline.line()}",
            f"  speed-up {r.speedup_p50:.1f}x at p50, {r.speedup_p95:.1f}x at p95; answers "
            f"differ by at most {r.max_disagreement_s:.2g} s, {r.mismatched} reachable by one "
            f"only; unreachable units {r.unreachable_share:.1%}",
        ]
    city = result.city
    return "\n".join(
        [
            f"route: 1 incident x {result.regions[0].units} units, seed {result.seed}; city = "
            f"{city.base} roads {city.cols}x{city.rows} with {city.connectors} connectors; "
            f"setup {result.setup_s:.1f} s",
            *lines,
            f"goal on the city: p95 < {GOAL_P95_MS:.0f} ms and >= {GOAL_SPEEDUP:.0f}x: "
            f"{'met' if result.goal_met() else 'NOT met'}",
            f"machine: {os.cpu_count()} CPUs, load average {result.load_before:.1f} before, "
            f"{result.load_after:.1f} after",
        ]
    )


def bench_cmd(args: argparse.Namespace, settings: Settings) -> int:
    tiles = parse_tiles(args.tiles)
    if not 1 <= args.units <= MAX_ORIGINS:
        raise InvalidInput(
            f"--units must be from 1 to {MAX_ORIGINS}",
            code="cli.option_range",
            option="--units",
            value=args.units,
            min=1,
            max=MAX_ORIGINS,
        )
    for name in ("runs", "baseline_runs", "links"):
        if getattr(args, name) < 1:
            option = f"--{name.replace('_', '-')}"
            raise InvalidInput(
                f"{option} must be at least 1", code="cli.option_below_min", option=option, min=1
            )
    pbf: Path = args.pbf or settings.shared_dir / "data" / "osm" / f"{args.region}.osm.pbf"
    if not pbf.is_file():
        raise InvalidInput(
            f"no OSM extract at {pbf}; pass --pbf", code="bench.extract_missing", file=str(pbf)
        )
    ensure_embedded_running(settings)
    drop_on_sigterm()
    result = asyncio.run(
        run_benchmark(
            settings,
            pbf,
            args.region,
            tiles,
            units=args.units,
            runs=args.runs,
            baseline_runs=args.baseline_runs,
            seed=args.seed,
            links=args.links,
        )
    )
    if args.json:
        figures: dict[str, Any] = asdict(result)
        figures["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        figures["goal_met"] = result.goal_met()
        print(json.dumps(figures, indent=2))
        return 0
    print(_report(result))
    return 0
