"""``cad bench recommend``: incident creation plus unit recommendation, end to end.

Measures ``Recommender.create_and_recommend`` (what ``POST /api/v1/incidents`` with
``"recommend": true`` runs: jurisdiction lookup, duplicate check, numbering, event log, unit
listing, drive times, cover) with ``--units`` units on the region's road network, with drive
times from the in-memory road graph (:class:`gis.routing.RoadGraphs`) and, on the same
incidents, from the pgRouting baseline (:class:`command.bench.baseline.PgRoutingBaseline`: one
statement per incident, snapping in SQL). It works in a scratch database on the same server
(migrated, the map imported from ``--pbf``, the demo fleet plus a synthetic fleet at random
address points), dropped afterwards, so the real log stays clean. With ``--tiles``, the
incidents and units are in a city generated from the map instead (:mod:`command.bench.city`:
the region's roads, jurisdictions, streets and addresses tiled, its stations once), which
replaces the imported region.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.bench.baseline import PgRoutingBaseline
from command.bench.city import CITY, build_city, parse_tiles
from command.bench.scratch import analyse, drop_on_sigterm, scratch_engine
from command.bench.stats import Timing, load_average, percentile
from command.cli.common import ensure_embedded_running
from command.clock import Clock
from command.dispatching.recommendation import Recommender
from command.errors import InvalidInput
from command.incidents.config import IncidentConfig
from command.incidents.service import IncidentService, NewIncident
from command.settings import Settings
from dispatch import store as dispatch_store
from dispatch.demo import seed_region, seed_synthetic_fleet
from gis.osm_import import import_osm
from gis.routing import RoadGraphs

GOAL_P95_MS = 100.0
GOAL_SPEEDUP = 10.0
#: The incident types the benchmark draws from (each has a run card).
BENCH_TYPES: tuple[str, ...] = (
    "fire.structure",
    "medical",
    "medical.cardiac_arrest",
    "traffic_collision",
    "traffic_collision.entrapment",
    "crime",
    "hazmat",
    "rescue",
)


@dataclass(frozen=True)
class RecommendBenchmark:
    region: str
    units: int
    seed: int
    routed_per_incident_p50: float
    ours: Timing
    baseline: Timing
    ours_recommend: Timing
    """``recommend`` alone, for an incident already written (units, drive times, cover)."""
    baseline_recommend: Timing
    same_choices: int
    compared: int
    setup_s: float
    load_before: float
    load_after: float

    @property
    def speedup_p50(self) -> float:
        return self.baseline.p50_ms / self.ours.p50_ms

    @property
    def speedup_p95(self) -> float:
        return self.baseline.p95_ms / self.ours.p95_ms

    def goal_met(self) -> bool:
        return self.ours.p95_ms <= GOAL_P95_MS and self.speedup_p50 >= GOAL_SPEEDUP


async def _prepare(
    engine: AsyncEngine,
    pbf: Path,
    region: str,
    units: int,
    seed: int,
    tiles: tuple[int, int] | None,
) -> str:
    """The map and the fleet; returns the region the incidents are in."""
    await import_osm(engine, pbf, region)
    if tiles is not None:
        async with engine.begin() as conn:
            await build_city(conn, region, CITY, *tiles, seed=seed)
            # the first tile lies where the map does: one region there, not two
            await conn.execute(text("DELETE FROM gis_regions WHERE name = :r"), {"r": region})
        region = CITY
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await seed_region(conn, region, now)
        have = len(await dispatch_store.list_units(conn))
        if units > have:
            await seed_synthetic_fleet(conn, region, units - have, now, seed)
    await analyse(engine)
    return region


async def _scenarios(engine: AsyncEngine, region: str, n: int, seed: int) -> list[NewIncident]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM gis_addresses "
                "WHERE region = :r AND jurisdiction_id IS NOT NULL ORDER BY id"
            ),
            {"r": region},
        )
        points = [(r.lon, r.lat) for r in rows]
    rng = random.Random(seed + 1)  # noqa: S311 - reproducible scenarios, not secrets
    return [
        NewIncident(rng.choice(BENCH_TYPES), *rng.choice(points), summary="benchmark")
        for _ in range(n)
    ]


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


async def run_benchmark(
    settings: Settings,
    region: str,
    pbf: Path,
    units: int,
    runs: int,
    baseline_runs: int,
    seed: int,
    tiles: tuple[int, int] | None = None,
) -> RecommendBenchmark:
    load_before = load_average()
    async with scratch_engine(settings) as engine:
        started = time.perf_counter()
        region = await _prepare(engine, pbf, region, units, seed, tiles)
        setup_s = time.perf_counter() - started
        incidents = IncidentService(engine, IncidentConfig(), Clock())
        ours_service = Recommender(engine, incidents.config, incidents, RoadGraphs().drive_times)
        baseline_service = Recommender(engine, incidents.config, incidents, PgRoutingBaseline())
        scenarios = await _scenarios(engine, region, max(runs, baseline_runs) + 3, seed)
        for warm in scenarios[:3]:  # reads the graph, loads pgRouting; not counted
            await ours_service.create_and_recommend(warm, "bench")
            await baseline_service.create_and_recommend(warm, "bench")
        ours: list[float] = []
        baseline: list[float] = []
        ours_alone: list[float] = []
        baseline_alone: list[float] = []
        routed: list[float] = []
        same = 0
        for n, scenario in enumerate(scenarios[3:]):
            if n < runs:
                t0 = time.perf_counter()
                created, found = await ours_service.create_and_recommend(scenario, "bench")
                ours.append(_ms(t0))
                rec = found.recommendation
                routed.append(
                    len(rec.chosen)
                    + sum(1 for r in rec.rejected if r.code in ("slower", "unreachable"))
                )
                t0 = time.perf_counter()
                await ours_service.for_incident(created.incident.id)
                ours_alone.append(_ms(t0))
            if n < baseline_runs:
                t0 = time.perf_counter()
                created, theirs = await baseline_service.create_and_recommend(scenario, "bench")
                baseline.append(_ms(t0))
                if n < runs:
                    same += int(theirs.recommendation.unit_ids == rec.unit_ids)
                t0 = time.perf_counter()
                await baseline_service.for_incident(created.incident.id)
                baseline_alone.append(_ms(t0))
        async with engine.connect() as conn:
            fleet = len(await dispatch_store.list_units(conn))
    return RecommendBenchmark(
        region=region,
        units=fleet,
        seed=seed,
        routed_per_incident_p50=percentile(routed, 0.5),
        ours=Timing.of(ours),
        baseline=Timing.of(baseline),
        ours_recommend=Timing.of(ours_alone),
        baseline_recommend=Timing.of(baseline_alone),
        same_choices=same,
        compared=min(runs, baseline_runs),
        setup_s=setup_s,
        load_before=load_before,
        load_after=load_average(),
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "recommend",
        help="incident creation + unit recommendation: in-memory graph vs pgRouting",
    )
    bench.add_argument("--region", default="liechtenstein", help="region name for the map")
    bench.add_argument(
        "--pbf", type=Path, default=None, help="OSM extract (default: shared/data/osm/REGION)"
    )
    bench.add_argument(
        "--tiles", default=None, help="a city of COLSxROWS copies of the map, such as 6x6"
    )
    bench.add_argument("--units", type=int, default=200, help="units in the fleet")
    bench.add_argument("--runs", type=int, default=200, help="incidents timed")
    bench.add_argument(
        "--baseline-runs", type=int, default=20, help="incidents timed with pgRouting"
    )
    bench.add_argument("--seed", type=int, default=1710, help="random scenario seed")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(handler=bench_cmd)


def _report(r: RecommendBenchmark) -> str:
    return "\n".join(
        [
            f"recommend on {r.region}: {r.units} units, seed {r.seed}, "
            f"~{r.routed_per_incident_p50:.0f} units routed per incident (p50); "
            f"setup {r.setup_s:.1f} s",
            f"  create + recommend, in-memory graph  {r.ours.line()}",
            f"  create + recommend, pgRouting        {r.baseline.line()}",
            f"  speed-up: {r.speedup_p50:.1f}x at p50, {r.speedup_p95:.1f}x at p95; "
            f"same units chosen in {r.same_choices}/{r.compared} incidents",
            f"  recommend alone, in-memory graph     {r.ours_recommend.line()}",
            f"  recommend alone, pgRouting           {r.baseline_recommend.line()}",
            f"  goal p95 <= {GOAL_P95_MS:.0f} ms and >= {GOAL_SPEEDUP:.0f}x: "
            f"{'met' if r.goal_met() else 'NOT met'}",
            f"  load average {r.load_before:.1f} before, {r.load_after:.1f} after",
        ]
    )


def bench_cmd(args: argparse.Namespace, settings: Settings) -> int:
    tiles = None if args.tiles is None else parse_tiles(args.tiles)
    for key in ("units", "runs", "baseline_runs"):
        if getattr(args, key) < 1:
            option = f"--{key.replace('_', '-')}"
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
            args.region,
            pbf,
            args.units,
            args.runs,
            args.baseline_runs,
            args.seed,
            tiles,
        )
    )
    if args.json:
        figures: dict[str, Any] = asdict(result)
        figures["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        figures["speedup_p50"] = result.speedup_p50
        figures["speedup_p95"] = result.speedup_p95
        figures["goal_met"] = result.goal_met()
        print(json.dumps(figures, indent=2))
        return 0
    print(_report(result))
    return 0
