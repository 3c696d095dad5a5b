"""Builders for incident and dispatch tests: a database with the Liechtenstein map imported
(copied from a template imported once per run), the demo fleet, units placed on the map, and
the people who work the incidents.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dispatch import store as dispatch_store
from dispatch.demo import SeedSummary, seed_region
from dispatch.units import UNIT_TYPES, Position, Unit, UnitStatus
from gis.osm_import import import_osm
from tests.support import builders
from tests.support.database import TEMPLATE, PgServer

REGION = "liechtenstein"
PBF = Path(__file__).resolve().parents[3] / "shared" / "data" / "osm" / "liechtenstein.osm.pbf"
MAP_TEMPLATE = "cad_map_liechtenstein"

#: Points in Liechtenstein (lon, lat) and one far outside it.
VADUZ_CENTRE = (9.5209, 47.1410)
SCHAAN_CENTRE = (9.5095, 47.1650)
BALZERS_CENTRE = (9.4980, 47.0660)
ZURICH = (8.5417, 47.3769)

_lock = asyncio.Lock()
_ready: set[str] = set()
_counter = itertools.count(1)


async def _admin(server: PgServer) -> asyncpg.Connection:
    return await asyncpg.connect(server.cluster.url("postgres", driver="postgresql"))


async def _build_map_template(server: PgServer) -> None:
    async with _lock:
        key = server.cluster.root.as_posix()
        if key in _ready:
            return
        conn = await _admin(server)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {MAP_TEMPLATE}")
            await conn.execute(f"CREATE DATABASE {MAP_TEMPLATE} TEMPLATE {TEMPLATE}")
        finally:
            await conn.close()
        engine = create_async_engine(server.url(MAP_TEMPLATE))
        try:
            await import_osm(engine, PBF, REGION)
        finally:
            await engine.dispose()
        _ready.add(key)


@asynccontextmanager
async def map_database(server: PgServer) -> AsyncIterator[str]:
    """A fresh database holding the migrated schema and the Liechtenstein map; its URL."""
    await _build_map_template(server)
    name = f"test_map_{next(_counter)}"
    conn = await _admin(server)
    try:
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE {MAP_TEMPLATE}")
    finally:
        await conn.close()
    try:
        yield server.url(name)
    finally:
        await server.drop_database(name)


async def seeded(engine: AsyncEngine, now: datetime | None = None) -> SeedSummary:
    """The demo fleet on the Liechtenstein fire stations."""
    async with engine.begin() as conn:
        return await seed_region(conn, REGION, now or datetime.now(UTC))


async def add_unit(
    engine: AsyncEngine,
    unit_id: str,
    unit_type: str,
    at: tuple[float, float] | None = None,
    station_id: str | None = None,
    status: UnitStatus = UnitStatus.AVAILABLE,
) -> Unit:
    """A unit of a catalogue type, optionally with a GPS fix at ``at``."""
    ut = UNIT_TYPES[unit_type]
    now = datetime.now(UTC)
    unit = Unit(
        id=unit_id,
        callsign=f"{unit_id} ({ut.names['en']})",
        unit_type=unit_type,
        station_id=station_id,
        capabilities=ut.capabilities,
        crew=ut.default_crew,
        status=status,
        status_since=now,
        fix=None if at is None else Position(*at),
        fix_at=None if at is None else now,
    )
    async with engine.begin() as conn:
        await dispatch_store.insert_unit(conn, unit)
    return unit


async def move_unit(engine: AsyncEngine, unit_id: str, at: tuple[float, float]) -> None:
    async with engine.begin() as conn:
        await dispatch_store.set_fix(conn, unit_id, Position(*at), datetime.now(UTC))


async def count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def event_types(engine: AsyncEngine, subject_type: str, subject_id: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT type FROM events WHERE subject_type = :t AND subject_id = :i ORDER BY id"),
            {"t": subject_type, "i": subject_id},
        )
        return [r.type for r in rows]


@dataclass(frozen=True)
class Crew:
    """Authorization headers of the people in the room."""

    call_taker: dict[str, str]
    dispatcher: dict[str, str]
    leader: dict[str, str]
    supervisor: dict[str, str]


async def crew(http: httpx.AsyncClient, engine: AsyncEngine) -> Crew:
    return Crew(
        await builders.signed_in(http, engine, "ct1", "call_taker"),
        await builders.signed_in(http, engine, "disp1", "dispatcher"),
        await builders.signed_in(http, engine, "lead1", "leader"),
        await builders.signed_in(http, engine, "sup1", "supervisor"),
    )


async def fire(http: httpx.AsyncClient, crew: Crew, east: float = 0.0) -> dict[str, Any]:
    """A structure fire logged by the call-taker in Vaduz (``east`` degrees further east)."""
    lon, lat = VADUZ_CENTRE
    created = await http.post(
        "/api/v1/incidents",
        json={"type": "fire.structure", "lon": lon + east, "lat": lat, "summary": "smoke"},
        headers=crew.call_taker,
    )
    assert created.status_code == 201, created.text
    incident: dict[str, Any] = created.json()["incident"]
    return incident


async def terminal(engine: AsyncEngine, unit_id: str) -> dict[str, str]:
    """Headers of the field terminal of ``unit_id`` (a device named after the unit)."""
    return {"Authorization": f"Bearer {await builders.device(engine, unit_id)}"}
