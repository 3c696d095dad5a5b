"""The demo: the demo region's map and its fleet, and an account for each role (printed).

The field-unit account is the terminal of one demo unit: a user named after the unit, which
may report for that unit only. The accounts of the roles that sign in with a second factor
(``CAD_TOTP_REQUIRED_ROLES``) have a TOTP secret in force, printed with them, to type into an
authenticator app (or compute a code with any RFC 6238 tool). Idempotent: a second run finds
everything in place and only prints the accounts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from command.auth import second_factor, service, totp
from command.auth.roles import Role, parse_roles
from command.bootstrap import build
from command.errors import Unavailable
from command.planning.demo import seed_plans
from command.settings import Settings
from command.tables import users
from dispatch import store as dispatch_store
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
#: The kind of unit whose terminal gets the field-unit account (the first of them by id).
FIELD_UNIT_TYPE = "engine"


async def seed_demo(engine: AsyncEngine, settings: Settings) -> None:
    await _region(engine, settings)
    async with engine.begin() as conn:
        summary = await seed_region(conn, settings.region, datetime.now(UTC))
    if not summary.skipped:
        print(describe([summary]))
    await _users(engine, settings)
    await _plans(engine, settings)


async def _plans(engine: AsyncEngine, settings: Settings) -> None:
    imported = await seed_plans(build(settings, engine))
    if imported:
        print(f"contingency plans: {imported} demo plans imported and approved")


async def _users(engine: AsyncEngine, settings: Settings) -> None:
    with_factor = (
        parse_roles(settings.totp_required_roles)
        if settings.totp_required_roles.strip()
        else frozenset()
    )
    async with engine.begin() as conn:
        fleet = await dispatch_store.list_units(conn, region=settings.region)
        unit = next((u for u in fleet if u.unit_type == FIELD_UNIT_TYPE), fleet[0])
        accounts = [
            *DEMO_USERS,
            (unit.id, Role.FIELD_UNIT.value, f"{unit.callsign} 终端 terminal"),
        ]
        existing = set((await conn.execute(select(users.c.username))).scalars())
        for username, role, name in accounts:
            if username not in existing:
                await service.create_user(conn, username, DEMO_PASSWORD, role, name)
                if Role(role) in with_factor:
                    await second_factor.enrolled(
                        conn, username, totp.new_secret(), datetime.now(UTC)
                    )
        enrolled = await conn.execute(
            select(users.c.username, users.c.totp_secret).where(
                users.c.totp_confirmed_at.is_not(None)
            )
        )
        secrets = {r.username: r.totp_secret for r in enrolled}
    print(f"demo accounts, one per role (password for all: {DEMO_PASSWORD}):")
    order = list(Role)
    for username, role, _ in sorted(accounts, key=lambda a: order.index(Role(a[1]))):
        note = f"  the terminal of unit {unit.id} ({unit.callsign})" if username == unit.id else ""
        if username in secrets:
            note = f"  one-time codes (TOTP) from secret {secrets[username]}"
        print(f"  {username:<12} {role:<12}{note}".rstrip())


async def _region(engine: AsyncEngine, settings: Settings) -> None:
    async with engine.connect() as conn:
        present = await conn.scalar(select(regions.c.name).where(regions.c.name == settings.region))
    if present:
        return
    extract = settings.shared_dir / "data" / "osm" / f"{settings.region}.osm.pbf"
    if not extract.exists():
        raise Unavailable(
            f"the demo region's map {extract} is missing: set CAD_SHARED_DIR to the folder "
            "holding data/osm/, or import a region with `cad gis import-osm`",
            code="demo.map_missing",
            file=str(extract),
        )
    # Imported here: command.cli imports this module (for `cad demo`).
    from command.cli.common import Progress

    print(f"importing the demo region {settings.region} from {extract}")
    progress = Progress()
    summary = await import_osm(engine, extract, settings.region, progress=progress)
    progress.done()
    print(
        f"  {summary.jurisdictions} jurisdictions, {summary.streets} streets, "
        f"{summary.addresses} addresses, {summary.places} places, {summary.road_edges} road edges"
    )
