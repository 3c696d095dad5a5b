"""The demo: the demo region's map and its fleet, and an account for each role (printed).

The field-unit account is the terminal of one demo unit: a user named after the unit, which
may report for that unit only. The accounts of the roles that sign in with a second factor
(``CAD_TOTP_REQUIRED_ROLES``) have a TOTP secret in force, printed with them, to type into an
authenticator app (or compute a code with any RFC 6238 tool). Idempotent: a second run finds
everything in place and only prints the accounts.
"""

from __future__ import annotations

import unicodedata
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


async def seed_demo(engine: AsyncEngine, settings: Settings) -> str:
    """Region, fleet, accounts and plans in place (printed); the field unit's account."""
    await _region(engine, settings)
    async with engine.begin() as conn:
        summary = await seed_region(conn, settings.region, datetime.now(UTC))
    if not summary.skipped:
        print(describe([summary]))
    field_unit = await _users(engine, settings)
    await _plans(engine, settings)
    return field_unit


async def _plans(engine: AsyncEngine, settings: Settings) -> None:
    imported = await seed_plans(build(settings, engine))
    if imported:
        print(f"contingency plans: {imported} demo plans imported and approved")


async def _users(engine: AsyncEngine, settings: Settings) -> str:
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
    return unit.id


#: the screens of the consoles, by the demo account that opens each (the screen follows the
#: role of whoever signs in at the one address)
SCREENS = (
    ("call-taker desk / 接警台", "calltaker", "the screen pop of each call; the incident form"),
    ("dispatcher map / 调度地图", "dispatcher", "incidents and live vehicles; the command line"),
    ("field terminal / 移动终端", None, "a vehicle's assignment, route and status buttons"),
    ("leader board / 领导看板", "leader", "the big screen; join the video consultation"),
    ("supervisor / 班长", "supervisor", "the call-taker desk and the dispatcher map together"),
)


def screens_guide(base_url: str, field_unit: str) -> list[str]:
    """What ``cad demo`` prints once it serves: where each screen is, who opens it, and how to
    follow a call from the pop to the vehicle's arrival."""
    lines = [f"the consoles: {base_url}/app/  (sign in; the screen follows the account's role)"]
    for screen, account, what in SCREENS:
        lines.append(f"  {_padded(screen, 28)} {account or field_unit:<12} {what}")
    lines += [
        f"API documentation: {base_url}/docs",
        "to follow a call: sign in as calltaker and take the incident from the screen pop; as",
        "dispatcher (another browser window) open it and assign the recommended unit; the",
        f"vehicle acknowledges, drives there and arrives by itself (its terminal: {field_unit}).",
    ]
    return lines


def _padded(text: str, width: int) -> str:
    """``text`` padded to ``width`` columns of a terminal (a CJK character takes two)."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - columns)


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
