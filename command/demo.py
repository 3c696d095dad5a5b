"""The demo: users for each role (printed), the demo region's map and its fleet.

Idempotent: a second run finds everything in place and only prints the accounts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from command.auth import service
from command.cli.common import Progress
from command.errors import Unavailable
from command.settings import Settings
from command.tables import users
from dispatch.demo import describe, seed_region
from gis.osm_import import import_osm
from gis.tables import regions

# Demo accounts only: a real deployment adds its people with `cad user add`.
DEMO_USERS = (
    ("calltaker", "call_taker", "接警员 Call-taker"),
    ("dispatcher", "dispatcher", "调度员 Dispatcher"),
    ("leader", "leader", "领导 Leader"),
    ("supervisor", "supervisor", "班长 Supervisor"),
    ("admin", "admin", "管理员 Admin"),
)
DEMO_PASSWORD = "demo-pass-112"  # noqa: S105 (printed for the demo)


async def seed_demo(engine: AsyncEngine, settings: Settings) -> None:
    await _users(engine)
    await _region(engine, settings)
    async with engine.begin() as conn:
        summary = await seed_region(conn, settings.region, datetime.now(UTC))
    if not summary.skipped:
        print(describe([summary]))


async def _users(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        existing = set((await conn.execute(select(users.c.username))).scalars())
        for username, role, name in DEMO_USERS:
            if username not in existing:
                await service.create_user(conn, username, DEMO_PASSWORD, role, name)
    print(f"demo users (password for all: {DEMO_PASSWORD}):")
    for username, role, _ in DEMO_USERS:
        print(f"  {username:<12} {role}")


async def _region(engine: AsyncEngine, settings: Settings) -> None:
    async with engine.connect() as conn:
        present = await conn.scalar(select(regions.c.name).where(regions.c.name == settings.region))
    if present:
        return
    extract = settings.shared_dir / "data" / "osm" / f"{settings.region}.osm.pbf"
    if not extract.exists():
        raise Unavailable(
            f"the demo region's map {extract} is missing: set CAD_SHARED_DIR to the folder "
            "holding data/osm/, or import a region with `cad gis import-osm`"
        )
    print(f"importing the demo region {settings.region} from {extract}")
    progress = Progress()
    summary = await import_osm(engine, extract, settings.region, progress=progress)
    progress.done()
    print(
        f"  {summary.jurisdictions} jurisdictions, {summary.streets} streets, "
        f"{summary.addresses} addresses, {summary.places} places, {summary.road_edges} road edges"
    )
