"""Demo fleet: stations from an imported region's fire stations, police and hospitals, each with
a sensible set of units, and a synthetic fleet of any size for the benchmark.

Reads ``gis_places`` (``amenity=fire_station`` / ``police`` / ``hospital``) of one region. Fire
stations get engines, a ladder or quint at every other station, a tanker, rescue and hazmat at
the first, water rescue on the Rhine side, and ALS/BLS ambulances when the region has no
hospital to base them at; police stations get patrol cars; the first station also houses the
mobile command vehicle. Idempotent: a region already seeded is left as it is.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch import store
from dispatch.errors import NotFound
from dispatch.units import UNIT_TYPES, Position, Station, Unit, UnitStatus, unit_type

FIRE_FLEET: tuple[tuple[str, int], ...] = (("engine", 2), ("ambulance_bls", 1))
ABBREV: dict[str, str] = {
    "engine": "E",
    "ladder": "L",
    "quint": "Q",
    "tanker": "T",
    "rescue": "R",
    "ambulance_als": "M",
    "ambulance_bls": "A",
    "police_patrol": "P",
    "hazmat": "HZ",
    "water_rescue": "W",
    "command_vehicle": "C",
    "public_health": "PH",
}


@dataclass(frozen=True)
class SeedSummary:
    region: str
    stations: int
    units: int
    skipped: bool = False


@dataclass(frozen=True)
class _Place:
    kind: str
    name: str
    lon: float
    lat: float


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "", name)[:12] or "ST"


async def _places(conn: AsyncConnection, region: str) -> list[_Place]:
    rows = await conn.execute(
        text(
            "SELECT kind, name, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM gis_places "
            "WHERE region = :r AND kind IN "
            "('amenity=fire_station', 'amenity=police', 'amenity=hospital') "
            "ORDER BY kind, ST_Y(geom), ST_X(geom)"
        ),
        {"r": region},
    )
    return [_Place(r.kind, r.name, r.lon, r.lat) for r in rows]


def fleet_for(kind: str, index: int, has_hospital: bool) -> list[tuple[str, int]]:
    """The unit types (and counts) a station of ``kind`` gets; ``index`` among its kind."""
    if kind == "amenity=police":
        return [("police_patrol", 3)]
    if kind == "amenity=hospital":
        return [("ambulance_als", 2), ("ambulance_bls", 2)]
    fleet = [("engine", 2)]
    fleet.append(("quint", 1) if index % 2 == 0 else ("ladder", 1))
    if index == 0:
        fleet += [("rescue", 1), ("hazmat", 1), ("tanker", 1), ("command_vehicle", 1)]
    if index == 1:
        fleet += [("water_rescue", 1), ("tanker", 1)]
    if not has_hospital:
        fleet += [("ambulance_als", 1), ("ambulance_bls", 1)]
    return fleet


async def seed_region(conn: AsyncConnection, region: str, now: datetime) -> SeedSummary:
    """Stations and units for ``region`` from its map; nothing when already seeded."""
    if await store.list_stations(conn, region):
        return SeedSummary(region, 0, 0, skipped=True)
    places = await _places(conn, region)
    if not any(p.kind == "amenity=fire_station" for p in places):
        raise NotFound(
            f"region {region!r} has no fire stations on its map (amenity=fire_station); "
            "import the region first",
            code="seed.no_fire_stations",
            region=region,
        )
    has_hospital = any(p.kind == "amenity=hospital" for p in places)
    counters: dict[str, int] = {}
    n_units = 0
    stations: list[Station] = []
    names_seen: dict[str, int] = {}
    for place in places:
        index = counters.get(place.kind, 0)
        counters[place.kind] = index + 1
        names_seen[place.name] = names_seen.get(place.name, 0) + 1
        label = (
            place.name if names_seen[place.name] == 1 else f"{place.name} {names_seen[place.name]}"
        )
        prefix = {"amenity=fire_station": "FS", "amenity=police": "PS"}.get(place.kind, "HS")
        station = Station(
            id=f"{prefix}{index + 1}-{_slug(place.name)}",
            name=place.name,
            position=Position(place.lon, place.lat),
            region=region,
        )
        await store.insert_station(conn, station, source=f"gis_places:{place.kind}")
        stations.append(station)
        for type_code, count in fleet_for(place.kind, index, has_hospital):
            ut = unit_type(type_code)
            for k in range(1, count + 1):
                code = f"{prefix}{index + 1}-{ABBREV[type_code]}{k}"
                await store.insert_unit(
                    conn,
                    Unit(
                        id=code,
                        callsign=f"{label} {ut.names['en']} {k}",
                        unit_type=type_code,
                        station_id=station.id,
                        capabilities=ut.capabilities,
                        crew=ut.default_crew,
                        status=UnitStatus.AVAILABLE,
                        status_since=now,
                    ),
                )
                n_units += 1
    return SeedSummary(region, len(stations), n_units)


#: Mix of the synthetic fleet (unit type, share).
SYNTHETIC_MIX: tuple[tuple[str, float], ...] = (
    ("engine", 0.30),
    ("ladder", 0.06),
    ("quint", 0.04),
    ("ambulance_als", 0.14),
    ("ambulance_bls", 0.16),
    ("police_patrol", 0.20),
    ("tanker", 0.03),
    ("rescue", 0.03),
    ("hazmat", 0.02),
    ("water_rescue", 0.01),
    ("command_vehicle", 0.01),
)


async def seed_synthetic_fleet(
    conn: AsyncConnection, region: str, count: int, now: datetime, seed: int = 1710
) -> list[str]:
    """``count`` extra units with GPS fixes at random address points of the region, homed at
    the nearest seeded station. Returns their ids. Used by the recommendation benchmark."""
    stations = await store.list_stations(conn, region)
    if not stations:
        raise NotFound(
            f"region {region!r} has no stations; seed the region first",
            code="seed.no_stations",
            region=region,
        )
    rows = await conn.execute(
        text(
            "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM gis_addresses WHERE region = :r "
            "ORDER BY id"
        ),
        {"r": region},
    )
    points = [(r.lon, r.lat) for r in rows]
    if not points:
        raise NotFound(
            f"region {region!r} has no address points", code="seed.no_addresses", region=region
        )
    rng = random.Random(seed)  # noqa: S311 - a reproducible demo fleet, not a secret
    types = [t for t, _ in SYNTHETIC_MIX]
    weights = [w for _, w in SYNTHETIC_MIX]
    ids: list[str] = []
    for i in range(1, count + 1):
        lon, lat = rng.choice(points)
        code = rng.choices(types, weights)[0]
        home = min(
            stations, key=lambda s: (s.position.lon - lon) ** 2 + (s.position.lat - lat) ** 2
        )
        ut = UNIT_TYPES[code]
        uid = f"SYN-{i:04d}"
        await store.insert_unit(
            conn,
            Unit(
                id=uid,
                callsign=f"Synthetic {ut.names['en']} {i}",
                unit_type=code,
                station_id=home.id,
                capabilities=ut.capabilities,
                crew=ut.default_crew,
                status=UnitStatus.AVAILABLE,
                status_since=now,
                fix=Position(lon, lat),
                fix_at=now,
            ),
        )
        ids.append(uid)
    return ids


def describe(summaries: Sequence[SeedSummary]) -> str:
    return "; ".join(
        f"{s.region}: already seeded"
        if s.skipped
        else f"{s.region}: {s.stations} stations, {s.units} units"
        for s in summaries
    )
