"""``cad bench geocode --city N``: a city-sized region of N addresses, generated in the database
from the imported regions' streets, and what its in-memory index costs.

The city is tiles of copies of the source regions' streets and addresses, each tile shifted and
its street names given a tile prefix of two syllables (``Oberwald…``, ``Neuberg…``) so that names
stay unique as in a real city. Measured: the index's load time and resident memory (whole and per
100,000 addresses), then ``street number`` queries of sampled addresses through our geocoder and,
on fewer of them, through the trigram baseline on the same database.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command import bootstrap
from command.bench.geocode import FOUND_WITHIN_M, haversine_m
from command.bench.geocode_trigram import TrigramGeocoder
from command.bench.stats import Timing
from command.errors import InvalidInput
from command.settings import Settings
from gis.geocode.snapshot import SUFFIX as SNAPSHOT_SUFFIX

CITY_REGION = "bench-city"
SYLLABLES_1 = ("Ober", "Unter", "Neu", "Alt", "Hinter", "Vorder", "Gross", "Klein", "Nord",
               "Sued", "Ost", "West", "Mittel", "Hoch", "Tief", "Sonnen", "Schatten", "Lang",
               "Kurz", "Breit")  # fmt: skip
SYLLABLES_2 = ("wald", "berg", "tal", "see", "au", "feld", "bach", "dorf", "hof", "heim",
               "stein", "brunn", "wies", "moos", "ried", "egg", "buehl", "matt", "rain",
               "halden")  # fmt: skip
MAX_TILES = len(SYLLABLES_1) * len(SYLLABLES_2)
TILE_DX, TILE_DY, COLUMNS = 0.2, 0.3, 16

_TILES = """
WITH tiles AS (
  SELECT k, (k % :cols) * CAST(:dx AS float8) AS dx, (k / :cols) * CAST(:dy AS float8) AS dy,
         (CAST(:p1 AS text[]))[(k % 20) + 1] || (CAST(:p2 AS text[]))[((k / 20) % 20) + 1]
           AS prefix
  FROM generate_series(0, CAST(:tiles AS int) - 1) AS k
)
"""

_COPY_STREETS = (
    _TILES
    + """
INSERT INTO gis_streets (region, name, names, norm, highway, geom)
SELECT :r, t.prefix || lower(s.name), '{}'::jsonb, lower(t.prefix || s.norm), s.highway,
       ST_Translate(s.geom, t.dx, t.dy)
FROM gis_streets s CROSS JOIN tiles t WHERE s.region = ANY(CAST(:sources AS text[]))
"""
)

_COPY_ADDRESSES = (
    _TILES
    + """
INSERT INTO gis_addresses (region, street, street_norm, place, housenumber, geom)
SELECT :r, t.prefix || lower(a.street), lower(t.prefix || coalesce(a.street_norm, a.street)),
       CASE WHEN a.place IS NULL THEN NULL ELSE t.prefix || lower(a.place) END,
       a.housenumber, ST_Translate(a.geom, t.dx, t.dy)
FROM gis_addresses a CROSS JOIN tiles t
WHERE a.region = ANY(CAST(:sources AS text[])) AND a.street IS NOT NULL
LIMIT :n
"""
)


def _rss_bytes() -> int:
    """Resident memory of this process (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _memory() -> dict[str, int]:
    """This process's resident, proportional (PSS) and unique (USS) memory in bytes, and the
    resident pages of mapped index snapshots (shared by every process that maps them)."""
    rollup: dict[str, int] = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            rollup[name] = int(rest.split()[0]) * 1024
    mapped = 0
    in_snapshot = False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and len(fields) >= 5:
            in_snapshot = fields[-1].endswith(SNAPSHOT_SUFFIX)
        elif in_snapshot and fields[:1] == ["Rss:"]:
            mapped += int(fields[1]) * 1024
    return {
        "rss": rollup.get("Rss", 0),
        "pss": rollup.get("Pss", 0),
        "uss": rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0),
        "snapshot_mapped": mapped,
    }


async def load_in_this_process(settings: Settings, region: str) -> dict[str, Any]:
    """How long this process takes to load ``region``'s index, and what it then holds."""
    async with bootstrap.parts(settings.for_import()) as parts:
        async with parts.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))  # the pool's first connection, not the load's
        gc.collect()
        before = _memory()
        started = time.perf_counter()
        index = await parts.geocoder.index(region)
        load_s = time.perf_counter() - started
        gc.collect()
        after = _memory()
    mib = 2**20
    return {
        "region": region,
        "from_snapshot": index.from_snapshot,
        "load_s": round(load_s, 2),
        "growth_mib": round((after["rss"] - before["rss"]) / mib, 1),
        **{f"{k}_mib": round(v / mib, 1) for k, v in after.items()},
    }


async def _second_process(region: str) -> dict[str, Any]:
    """:func:`load_in_this_process` in a new ``cad`` process (as another `cad serve` would)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "command",
        "bench",
        "geocode",
        "--region",
        region,
        "--load-only",
        "--json",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        return {"failed": proc.returncode}
    figures: dict[str, Any] = json.loads(out)
    return figures


def _timing(t: Timing) -> dict[str, float]:
    return {
        "p50_ms": round(t.p50_ms, 3),
        "p95_ms": round(t.p95_ms, 3),
        "max_ms": round(t.max_ms, 1),
    }


@dataclass
class CityFigures:
    addresses: int
    generate_s: float
    load_s: float
    index_bytes: int
    queries: int
    found: int
    ours: Timing
    baseline_queries: int
    baseline_found: int
    baseline: Timing
    first_process: dict[str, Any]
    second_process: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        per = 100_000 / max(1, self.addresses)
        return {
            "addresses": self.addresses,
            "generate_s": round(self.generate_s, 1),
            "index_load_s": round(self.load_s, 2),
            "index_mib": round(self.index_bytes / 2**20, 1),
            "per_100k_addresses": {
                "load_s": round(self.load_s * per, 2),
                "mib": round(self.index_bytes / 2**20 * per, 1),
            },
            "ours": {"queries": self.queries, "found": self.found, **_timing(self.ours)},
            "trigram": {
                "queries": self.baseline_queries,
                "found": self.baseline_found,
                **_timing(self.baseline),
            },
            "first_process": self.first_process,
            "second_process": self.second_process,
        }


async def generate_city(engine: AsyncEngine, n: int, sources: list[str]) -> int:
    """Replace region ``bench-city`` with ``n`` generated addresses; their number."""
    async with engine.begin() as conn:
        await conn.execute(text("SET LOCAL statement_timeout = 0"))
        per_tile = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM gis_addresses "
                    "WHERE region = ANY(:s) AND street IS NOT NULL"
                ),
                {"s": sources},
            )
        ).scalar_one()
        if per_tile == 0:
            raise InvalidInput(
                f"regions {', '.join(sources)} hold no addresses: import them first",
                code="bench.city_no_sources",
                regions=sources,
            )
        tiles = math.ceil(n / per_tile)
        if tiles > MAX_TILES:
            raise InvalidInput(
                f"{n} addresses need {tiles} tiles of the source regions; at most {MAX_TILES}",
                code="bench.city_too_large",
                addresses=n,
                tiles=tiles,
                max_tiles=MAX_TILES,
            )
        await conn.execute(text("DELETE FROM gis_regions WHERE name = :r"), {"r": CITY_REGION})
        await conn.execute(
            text(
                "INSERT INTO gis_regions (name, srid_metric, imported_at, source, generation) "
                "VALUES (:r, 3857, now(), 'cad bench geocode --city', 1)"
            ),
            {"r": CITY_REGION},
        )
        params = {
            "r": CITY_REGION,
            "sources": sources,
            "tiles": tiles,
            "cols": COLUMNS,
            "dx": TILE_DX,
            "dy": TILE_DY,
            "p1": list(SYLLABLES_1),
            "p2": list(SYLLABLES_2),
            "n": n,
        }
        await conn.execute(text(_COPY_STREETS), params)
        await conn.execute(text(_COPY_ADDRESSES), params)
        count = (
            await conn.execute(
                text("SELECT count(*) FROM gis_addresses WHERE region = :r"), {"r": CITY_REGION}
            )
        ).scalar_one()
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE gis_addresses"))
        await conn.execute(text("ANALYZE gis_streets"))
        await conn.commit()
    return int(count)


async def run_city(
    settings: Settings, n: int, sources: list[str], queries: int, baseline_queries: int
) -> CityFigures:
    # generating a million rows is one statement of about 20 s: it gets an import's deadline
    async with bootstrap.parts(settings.for_import()) as parts:
        started = time.perf_counter()
        count = await generate_city(parts.engine, n, sources)
        generate_s = time.perf_counter() - started
        async with parts.engine.connect() as conn:
            # sampled in the database: holding every row here would blur the index's footprint
            sample = list(
                (
                    await conn.execute(
                        text(
                            "SELECT street, housenumber, ST_X(geom) AS lon, ST_Y(geom) AS lat "
                            "FROM gis_addresses WHERE region = :r "
                            "ORDER BY md5(id::text) LIMIT :n"
                        ),
                        {"r": CITY_REGION, "n": queries},
                    )
                ).all()
            )
        gc.collect()
        before = _rss_bytes()
        started = time.perf_counter()
        index = await parts.geocoder.index(CITY_REGION)
        load_s = time.perf_counter() - started
        gc.collect()
        index_bytes = _rss_bytes() - before
        mib = 2**20
        first = {
            "from_snapshot": index.from_snapshot,
            **{f"{k}_mib": round(v / mib, 1) for k, v in _memory().items()},
        }
        # another process loading the same import (it maps the snapshot this one wrote)
        second = await _second_process(CITY_REGION)

        async def measure(search: Any, items: list[Any]) -> tuple[int, Timing]:
            found = 0
            timings: list[float] = []
            for r in items:
                t0 = time.perf_counter()
                answers = await search(f"{r.street} {r.housenumber}")
                timings.append(1000 * (time.perf_counter() - t0))
                if answers and (
                    haversine_m(answers[0].lat, answers[0].lon, r.lat, r.lon) <= FOUND_WITHIN_M
                ):
                    found += 1
            return found, Timing.of(timings)

        async def ours(q: str) -> Any:
            return await parts.geocoder.geocode(CITY_REGION, q, limit=5)

        trigram = TrigramGeocoder(parts.engine)

        async def theirs(q: str) -> Any:
            return await trigram.geocode(CITY_REGION, q)

        found, timing = await measure(ours, sample)
        await theirs(sample[0].street)  # loads pg_trgm in the session
        b_sample = sample[:baseline_queries]
        b_found, b_timing = await measure(theirs, b_sample)
    return CityFigures(
        addresses=count,
        generate_s=generate_s,
        load_s=load_s,
        index_bytes=index_bytes,
        queries=len(sample),
        found=found,
        ours=timing,
        baseline_queries=len(b_sample),
        baseline_found=b_found,
        baseline=b_timing,
        first_process=first,
        second_process=second,
    )
