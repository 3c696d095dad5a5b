"""``cad bench route``: drive times from many units to one incident, against the naive baseline.

Each run draws one incident and ``--units`` unit positions at random places on the region's
road network (seeded, so runs are comparable), times :func:`gis.routing.drive_times` (one
search for all units), and times the one-search-per-unit baseline on the first
``--naive-runs`` of the same scenarios. Both answers must agree.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from dataclasses import asdict
from datetime import UTC, datetime

from command.cli.common import engine_for
from command.errors import InvalidInput
from command.settings import Settings
from gis import routing

GOAL_P95_MS = 50.0


def register_bench(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "route", help="drive times: one incident against many units, vs one route per unit"
    )
    bench.add_argument("--region", required=True, help="an imported region, e.g. liechtenstein")
    bench.add_argument("--units", type=int, default=200, help="unit positions per incident")
    bench.add_argument("--runs", type=int, default=50, help="incidents timed")
    bench.add_argument(
        "--naive-runs", type=int, default=5, help="incidents timed with the naive baseline"
    )
    bench.add_argument("--seed", type=int, default=20261121, help="random positions seed")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(handler=bench_route_cmd)


def bench_route_cmd(args: argparse.Namespace, settings: Settings) -> int:
    for name in ("units", "runs", "naive_runs"):
        if getattr(args, name) < 1:
            raise InvalidInput(
                f"--{name.replace('_', '-')} must be at least 1",
                code="cli.option_below_min",
                option=f"--{name.replace('_', '-')}",
                min=1,
            )

    async def run() -> routing.RoutingBenchmark:
        async with engine_for(settings) as engine:
            return await routing.benchmark(
                engine,
                args.region,
                units=args.units,
                runs=args.runs,
                naive_runs=args.naive_runs,
                seed=args.seed,
            )

    load_before = os.getloadavg()[0]
    result = asyncio.run(run())
    load_after = os.getloadavg()[0]
    figures = asdict(result)
    figures["load_average"] = [round(load_before, 2), round(load_after, 2)]
    figures["cpus"] = os.cpu_count()
    figures["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    figures["goal_p95_ms"] = GOAL_P95_MS
    figures["speedup_p50"] = result.naive.p50_ms / result.fast.p50_ms
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"routing on {result.region}: 1 incident, {result.units} units, seed {result.seed}\n"
        f"  drive_times (one search)  {result.fast.runs:>3} runs  "
        f"p50 {result.fast.p50_ms:8.1f} ms  p95 {result.fast.p95_ms:8.1f} ms  "
        f"max {result.fast.max_ms:8.1f} ms\n"
        f"  naive (one per unit)      {result.naive.runs:>3} runs  "
        f"p50 {result.naive.p50_ms:8.1f} ms  p95 {result.naive.p95_ms:8.1f} ms  "
        f"max {result.naive.max_ms:8.1f} ms\n"
        f"  speed-up at p50: {figures['speedup_p50']:.0f}x; "
        f"answers agree to {result.max_disagreement_s:.2g} s; "
        f"unreachable units: {result.unreachable_share:.1%}\n"
        f"  goal p95 <= {GOAL_P95_MS:.0f} ms: "
        f"{'met' if result.fast.p95_ms <= GOAL_P95_MS else 'NOT met'}\n"
        f"  machine: {figures['cpus']} CPUs, load average {load_before:.1f} before, "
        f"{load_after:.1f} after"
    )
    return 0
