"""``cad bench plans``: matching one incident against many approved plans, our in-memory
index against plans evaluated in SQL, in the same run.

Ours is what ``IncidentPlans`` does per match: ``PlanLibrary.index`` (fresh: in ``cad serve``
approvals arrive as events and nothing is read; without the event follower, one primary-key
read of the library's generation, timed apart) then ``PlanIndex.match`` (the plans filed under
the incident's types and place, their required conditions checked, the ones that apply
explained condition by condition and ranked). The baseline is
what a team without it would build on the same database: every plan's conditions in columns of
one table (types and words as arrays with a GIN index on the types, zones and places as
PostGIS geometries) and one statement per incident that evaluates them all, keeps those whose
required conditions hold and ranks them by score. Both run on a scratch database with the
same ``--plans`` plans (seeded), approved; the rankings are compared. The library is a large
city's: plans of one to three incident types each, 40 % bound to a place on the map, 25 % to a
zone, a third to one to three of 60 districts, 2 % for anywhere; incidents at random points,
types, districts and times, with narratives drawn from the plans' words.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command.bench.scratch import analyse, drop_on_sigterm, scratch_engine
from command.bench.stats import Timing, load_average
from command.cli.common import ensure_embedded_running
from command.clock import Clock
from command.errors import InvalidInput
from command.incidents.config import IncidentConfig
from command.planning.library import PlanLibrary, vocabulary_of
from command.settings import Settings
from plans import store as plans_store
from plans.conditions import Situation, fold
from plans.document import parse_plan, to_document
from plans.model import LEVEL_NAMES, Plan, PlanStatus
from plans.tables import plan_versions

GOAL_P95_MS = 5.0
#: A library of 10,000 plans is a large city's: its districts, as the plans' jurisdictions.
DISTRICTS = tuple(f"district {n:02d}" for n in range(1, 61))
WORDS = (
    "trapped", "smoke", "collapse", "leak", "gas", "flood", "missing", "explosion",
    "injured", "child", "tunnel", "bridge", "school", "chemical", "roof", "river",
    "被困", "浓烟", "倒塌", "泄漏", "失踪", "爆炸",
)  # fmt: skip
NARRATIVE_FILLER = ("caller reports", "near the", "street", "two cars", "a man", "the house")
#: Liechtenstein's box: west, south, east, north
BOX = (9.47, 47.05, 9.63, 47.27)
WEIGHTS = {"words": 2.0}


@dataclass
class PlansBenchmark:
    plans: int
    incidents: int
    seed: int
    index_build_ms: float
    index_rebuild_ms: float
    matched_per_incident: float
    candidates_per_incident: float
    ours: Timing
    ours_cpu: Timing
    ours_polling: Timing
    baseline: Timing
    same_rankings: int
    compared: int
    setup_s: float
    load_before: float
    load_after: float

    @property
    def speedup_p95(self) -> float:
        return self.baseline.p95_ms / self.ours.p95_ms if self.ours.p95_ms else 0.0

    def goal_met(self) -> bool:
        return self.ours.p95_ms <= GOAL_P95_MS


# --------------------------------------------------------------------------- generated plans


def _point(rng: random.Random) -> tuple[float, float]:
    return rng.uniform(BOX[0], BOX[2]), rng.uniform(BOX[1], BOX[3])


def generated_document(rng: random.Random, n: int, types: list[str]) -> dict[str, Any]:
    """One random but plausible plan: a few types, some conditions, where it applies."""
    conditions: dict[str, Any] = {
        "incident_types": sorted(set(rng.sample(types, rng.randint(1, 3)))),
        "priority": {"min": 1, "max": rng.randint(2, 4)},
    }
    if rng.random() < 0.6:
        conditions["words"] = {"any": rng.sample(WORDS, rng.randint(1, 3))}
    if rng.random() < 0.2:
        conditions["casualties"] = {"at_least": rng.randint(1, 6)}
    if rng.random() < 0.1:
        conditions["trapped"] = {"at_least": rng.randint(1, 3)}
    if rng.random() < 0.1:
        conditions["hazmat"] = {"present": True}
    if rng.random() < 0.1:
        conditions["linked_calls"] = {"at_least": rng.randint(2, 5)}
    if rng.random() < 0.1:
        conditions["response_level"] = {"at_least": LEVEL_NAMES[rng.randint(2, 3)]}
    if rng.random() < 0.15:
        start = rng.randint(0, 23)
        conditions["time"] = {"hours": f"{start:02d}-{(start + rng.randint(4, 12)) % 24:02d}"}
    # Where the plan applies: most plans of a large library are for a site (40 % near a place
    # on the map, 25 % a zone), a third for some jurisdictions, 2 % for anywhere (a few
    # general plans per incident type).
    scope: dict[str, Any] = {}
    where = rng.random()
    lon, lat = _point(rng)
    if where < 0.4:
        conditions["near"] = {
            "place": f"place {n}", "within_m": rng.choice((300, 1000, 3000)), "lon": lon, "lat": lat
        }  # fmt: skip
    elif where < 0.65:
        d = rng.uniform(0.005, 0.03)
        ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
        scope["zones"] = [
            {"name": f"zone {n}", "geometry": {"type": "Polygon", "coordinates": [ring]}}
        ]
    elif where < 0.98:
        scope["jurisdictions"] = rng.sample(DISTRICTS, rng.randint(1, 3))
    return {
        "key": f"bench_{n:05d}",
        "names": {"zh-CN": f"测试预案 {n}", "en": f"Benchmark plan {n}"},
        "category": {"zh-CN": "测试", "en": "Benchmark"},
        "scope": scope,
        "conditions": conditions,
        "stages": [{"resources": {"engine": 1}}],
    }


def situation(rng: random.Random, types: list[str], at: datetime) -> Situation:
    lon, lat = _point(rng)
    words = rng.sample(WORDS, rng.randint(0, 3)) + rng.sample(NARRATIVE_FILLER, 2)
    rng.shuffle(words)
    return Situation(
        type_code=rng.choice(types),
        priority=rng.randint(1, 4),
        response_level=rng.randint(1, 4),
        lon=lon,
        lat=lat,
        local_time=at + timedelta(minutes=rng.randint(0, 7 * 24 * 60)),
        narrative=" ".join(words),
        jurisdiction=rng.choice(DISTRICTS),
        casualties=rng.choice((0, 0, 0, 1, 2, 5)),
        trapped=rng.choice((0, 0, 0, 1, 3)),
        hazmat=rng.random() < 0.1,
        linked_calls=rng.randint(1, 4),
    )


# --------------------------------------------------------------------------- the baseline

_BASELINE_DDL = (
    """CREATE TABLE bench_plan_conditions (
        version_id bigint PRIMARY KEY, plan_key text NOT NULL, type_codes text[] NOT NULL,
        priority_min int NOT NULL, priority_max int NOT NULL, words text[],
        casualties int, trapped int, hazmat boolean, linked_calls int, level_at_least int,
        jurisdictions text[], near geography, near_m float8, hours_start int, hours_end int,
        zone geometry(MultiPolygon, 4326))""",
    "CREATE INDEX bench_plan_conditions_types ON bench_plan_conditions USING gin (type_codes)",
)

#: One statement: every plan's conditions evaluated for one incident, ranked.
BASELINE_QUERY = sa.text(
    """
    WITH incident AS (
        SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt,
               CAST(:narrative AS text) AS narrative
    ), evaluated AS (
        SELECT p.plan_key,
               (p.words IS NOT NULL AND EXISTS (
                   SELECT 1 FROM unnest(p.words) AS w
                   WHERE i.narrative LIKE '%' || w || '%')) AS words_held,
               2 + (p.casualties IS NOT NULL)::int + (p.trapped IS NOT NULL)::int
                 + (p.hazmat IS NOT NULL)::int + (p.linked_calls IS NOT NULL)::int
                 + (p.level_at_least IS NOT NULL)::int + (p.near IS NOT NULL)::int
                 + (p.hours_start IS NOT NULL)::int + (p.zone IS NOT NULL)::int AS required_held,
               (p.jurisdictions IS NOT NULL)::int AS zero_weight_held
        FROM bench_plan_conditions p, incident i
        WHERE p.type_codes && CAST(:prefixes AS text[])
          AND :priority BETWEEN p.priority_min AND p.priority_max
          AND (p.casualties IS NULL OR :casualties >= p.casualties)
          AND (p.trapped IS NULL OR :trapped >= p.trapped)
          AND (p.hazmat IS NULL OR :hazmat = p.hazmat)
          AND (p.linked_calls IS NULL OR :linked_calls >= p.linked_calls)
          AND (p.level_at_least IS NULL OR :level <= p.level_at_least)
          AND (p.jurisdictions IS NULL OR :jurisdiction = ANY(p.jurisdictions))
          AND (p.near IS NULL OR ST_DWithin(p.near, i.pt::geography, p.near_m, false))
          AND (p.hours_start IS NULL OR CASE WHEN p.hours_start < p.hours_end
                 THEN :hour >= p.hours_start AND :hour < p.hours_end
                 ELSE :hour >= p.hours_start OR :hour < p.hours_end END)
          AND (p.zone IS NULL OR ST_Contains(p.zone, i.pt))
    )
    SELECT plan_key,
           required_held + 2 * words_held::int AS score,
           required_held + words_held::int + zero_weight_held AS held
    FROM evaluated
    ORDER BY score DESC, held DESC, plan_key
    """
)


def _baseline_row(version_id: int, plan: Plan) -> dict[str, Any]:
    doc = to_document(plan)
    c = doc["conditions"]
    near, zones = c.get("near"), doc["scope"]["zones"]
    hours = c.get("time", {}).get("hours")
    return {
        "version_id": version_id,
        "plan_key": plan.key,
        "type_codes": c["incident_types"]["any"],
        "priority_min": c.get("priority", {}).get("min", 1),
        "priority_max": c.get("priority", {}).get("max", 4),
        "words": [fold(w) for w in c["words"]["any"]] if "words" in c else None,
        "casualties": c.get("casualties", {}).get("at_least"),
        "trapped": c.get("trapped", {}).get("at_least"),
        "hazmat": c.get("hazmat", {}).get("present"),
        "linked_calls": c.get("linked_calls", {}).get("at_least"),
        "level_at_least": None
        if "response_level" not in c
        else {"I": 1, "II": 2, "III": 3, "IV": 4}[c["response_level"]["at_least"]],
        "jurisdictions": doc["scope"]["jurisdictions"] or None,
        "near": None if near is None else f"SRID=4326;POINT({near['lon']} {near['lat']})",
        "near_m": None if near is None else near["within_m"],
        "hours_start": None if hours is None else int(hours[:2]),
        "hours_end": None if hours is None else int(hours[3:]),
        "zone": None if not zones else json.dumps(zones[0]["geometry"]),
    }


_INSERT_BASELINE = sa.text(
    "INSERT INTO bench_plan_conditions VALUES (:version_id, :plan_key, :type_codes, "
    ":priority_min, :priority_max, :words, :casualties, :trapped, :hazmat, :linked_calls, "
    ":level_at_least, :jurisdictions, CAST(:near AS geography), :near_m, :hours_start, "
    ":hours_end, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(:zone), 4326)))"
)


async def baseline_match(conn: AsyncConnection, s: Situation) -> list[str]:
    parts = s.type_code.split(".")
    rows = await conn.execute(
        BASELINE_QUERY,
        {
            "lon": s.lon,
            "lat": s.lat,
            "narrative": fold(s.narrative),
            "prefixes": [".".join(parts[:i]) for i in range(1, len(parts) + 1)],
            "priority": s.priority,
            "casualties": s.casualties,
            "trapped": s.trapped,
            "hazmat": s.hazmat,
            "linked_calls": s.linked_calls,
            "level": s.response_level,
            "jurisdiction": s.jurisdiction,
            "hour": s.local_time.hour,
        },
    )
    return [r.plan_key for r in rows]


# --------------------------------------------------------------------------- the run


async def _load(engine: AsyncEngine, library: PlanLibrary, count: int, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible plans, not secrets
    types = sorted(library.vocabulary.incident_types)
    now = datetime.now(UTC)
    docs = [generated_document(rng, n, types) for n in range(count)]
    plans = [parse_plan(d, library.vocabulary) for d in docs]
    async with engine.begin() as conn:
        for ddl in _BASELINE_DDL:
            await conn.execute(sa.text(ddl))
        ids = (
            await conn.execute(
                plan_versions.insert().returning(plan_versions.c.id),
                [
                    {
                        "plan_key": p.key,
                        "version": 1,
                        "status": PlanStatus.APPROVED.value,
                        "document": to_document(p),
                        "created_by": "bench",
                        "created_at": now,
                        "approved_by": "bench",
                        "approved_at": now,
                    }
                    for p in plans
                ],
            )
        ).scalars()
        await plans_store.bump_generation(conn)
        await conn.execute(
            _INSERT_BASELINE, [_baseline_row(i, p) for i, p in zip(ids, plans, strict=True)]
        )


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


async def run_benchmark(
    settings: Settings, plans: int, incidents: int, seed: int
) -> PlansBenchmark:
    load_before = load_average()
    async with scratch_engine(settings) as engine:
        started = time.perf_counter()
        library = PlanLibrary(engine, vocabulary_of(IncidentConfig()), Clock(), "bench")
        await _load(engine, library, plans, seed)
        await analyse(engine)
        setup_s = time.perf_counter() - started
        rng = random.Random(seed + 1)  # noqa: S311 - reproducible incidents, not secrets
        types = sorted(library.vocabulary.incident_types)
        start = datetime(2026, 12, 1, tzinfo=UTC)
        cases = [situation(rng, types, start) for _ in range(incidents + 5)]
        async with engine.connect() as conn:
            t0 = time.perf_counter()
            index = await library.index(conn)
            build_ms = _ms(t0)
            for warm in cases[:5]:
                index.match(warm)
                await baseline_match(conn, warm)
            ours: list[float] = []
            ours_cpu: list[float] = []
            polling: list[float] = []
            baseline: list[float] = []
            matched = candidates = same = 0
            for case in cases[5:]:
                # as in ``cad serve``: approvals arrive as events, nothing is read per match
                library.follow(True)
                await library.index(conn)
                t0, c0 = time.perf_counter(), time.thread_time()
                found = (await library.index(conn)).match(case)
                ours.append(_ms(t0))
                ours_cpu.append((time.thread_time() - c0) * 1000.0)
                # without the event follower: the library's generation read per match
                library.follow(False)
                t0 = time.perf_counter()
                polled = (await library.index(conn)).match(case)
                polling.append(_ms(t0))
                assert polled == found
                t0 = time.perf_counter()
                theirs = await baseline_match(conn, case)
                baseline.append(_ms(t0))
                matched += len(found)
                candidates += len(index.candidates(case))
                same += int([m.key for m in found] == theirs)
        # one more plan approved: the index is filed again, only the new plan compiled
        extra = generated_document(random.Random(seed + 2), plans, types)  # noqa: S311
        version = await library.import_yaml(json.dumps(extra), "bench")
        await library.approve(version.key, version.version, "bench")
        async with engine.connect() as conn:
            t0 = time.perf_counter()
            rebuilt = await library.index(conn)
            rebuild_ms = _ms(t0)
        assert rebuilt.size == plans + 1
    return PlansBenchmark(
        plans=plans,
        incidents=incidents,
        seed=seed,
        index_build_ms=build_ms,
        index_rebuild_ms=rebuild_ms,
        matched_per_incident=matched / incidents,
        candidates_per_incident=candidates / incidents,
        ours=Timing.of(ours),
        ours_cpu=Timing.of(ours_cpu),
        ours_polling=Timing.of(polling),
        baseline=Timing.of(baseline),
        same_rankings=same,
        compared=incidents,
        setup_s=setup_s,
        load_before=load_before,
        load_after=load_average(),
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "plans", help="plan matching: in-memory index vs every plan evaluated in SQL"
    )
    bench.add_argument("--plans", type=int, default=10_000, help="approved plans (1..100000)")
    bench.add_argument("--incidents", type=int, default=500, help="incidents matched")
    bench.add_argument("--seed", type=int, default=1010, help="random seed")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(handler=bench_cmd)


def _report(r: PlansBenchmark) -> str:
    return "\n".join(
        [
            f"plans: {r.plans} approved plans, {r.incidents} incidents, seed {r.seed}; "
            f"setup {r.setup_s:.1f} s, index built in {r.index_build_ms:.0f} ms, "
            f"filed again after one more approval in {r.index_rebuild_ms:.0f} ms",
            f"  ~{r.candidates_per_incident:.0f} plans of the incident's types looked at, "
            f"{r.matched_per_incident:.1f} apply (mean per incident)",
            f"  match, in-memory index       {r.ours.line()}",
            f"    its CPU time (this thread)  {r.ours_cpu.line()}",
            f"    reading the generation too {r.ours_polling.line()}",
            f"  match, every plan in SQL     {r.baseline.line()}",
            f"  speed-up at p95: {r.speedup_p95:.1f}x; "
            f"same ranking in {r.same_rankings}/{r.compared} incidents",
            f"  goal p95 <= {GOAL_P95_MS:.0f} ms: {'met' if r.goal_met() else 'NOT met'}",
            f"  load average {r.load_before:.1f} before, {r.load_after:.1f} after",
        ]
    )


def bench_cmd(args: argparse.Namespace, settings: Settings) -> int:
    for key, lo, hi in (("plans", 1, 100_000), ("incidents", 1, 100_000)):
        value = getattr(args, key)
        if not lo <= value <= hi:
            option = f"--{key}"
            raise InvalidInput(
                f"{option} {value} is outside {lo}..{hi}",
                code="cli.option_range",
                option=option,
                value=value,
                min=lo,
                max=hi,
            )
    ensure_embedded_running(settings)
    drop_on_sigterm()
    result = asyncio.run(run_benchmark(settings, args.plans, args.incidents, args.seed))
    if args.json:
        figures = asdict(result)
        figures["speedup_p95"] = round(result.speedup_p95, 2)
        figures["goal_met"] = result.goal_met()
        print(json.dumps(figures, indent=2, default=str))
    else:
        print(_report(result))
    return 0
