"""The `cad` command line: a new user's first commands (database, users, unit terminals), and
the clear one-line errors people get for bad input."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from command.tables import audit_log, tokens, users
from ops import migrate
from tests.support import builders, dispatch_builders
from tests.support.cli import cad, embedded_cluster
from tests.support.database import PgServer
from tests.support.live import LiveApp

VERSIONS = Path(migrate.MIGRATIONS) / "versions"


async def test_user_add_list_disable(engine: AsyncEngine, database_url: str) -> None:
    db = {"CAD_DATABASE_URL": database_url}
    added = cad(
        "user",
        "add",
        "li.wei",
        "--roles",
        "call_taker,dispatcher",
        CAD_NEW_PASSWORD="a good password",
        **db,
    )
    assert added.returncode == 0, added.stderr
    listed = cad("user", "list", **db)
    assert "li.wei" in listed.stdout
    assert "call_taker,dispatcher" in listed.stdout
    assert cad("user", "disable", "li.wei", **db).returncode == 0
    assert "disabled" in cad("user", "list", **db).stdout
    async with engine.connect() as conn:
        written = select(audit_log.c.action).order_by(audit_log.c.id)
        actions = (await conn.execute(written)).scalars().all()
    assert actions == ["user.add", "user.disable"]


async def test_user_unlock_and_password_reset(live: LiveApp, database_url: str) -> None:
    db = {"CAD_DATABASE_URL": database_url}
    await builders.user(live.container.engine, "ana", "call_taker")
    for _ in range(5):
        await live.http.post("/api/v1/auth/login", json={"username": "ana", "password": "no no no"})
    right = {"username": "ana", "password": builders.PASSWORD}
    assert (await live.http.post("/api/v1/auth/login", json=right)).status_code == 429
    unlocked = cad("user", "unlock", "ana", **db)
    assert (unlocked.returncode, unlocked.stdout) == (0, "unlocked ana\n"), unlocked.stderr
    assert (await live.http.post("/api/v1/auth/login", json=right)).status_code == 200
    weak = cad("user", "password", "ana", CAD_NEW_PASSWORD="ana12345", **db)
    assert weak.returncode == 2
    assert "may not contain the user name" in weak.stderr
    reset = cad("user", "password", "ana", CAD_NEW_PASSWORD="river stones 12", **db)
    assert reset.returncode == 0, reset.stderr
    r = await live.http.post(
        "/api/v1/auth/login", json={"username": "ana", "password": "river stones 12"}
    )
    assert r.json()["limited_to"] == "auth.password_change_required"
    async with live.container.engine.connect() as conn:
        rows = await conn.execute(
            select(audit_log.c.action, audit_log.c.actor)
            .where(audit_log.c.source == "cli")
            .order_by(audit_log.c.id)  # the order of writing: a scan has none of its own
        )
        done = [(action, actor.split(":")[0]) for action, actor in rows]
    assert done == [("user.unlock", "os"), ("user.password_reset", "os")]


async def test_bad_input_is_one_clear_line_and_changes_nothing(
    engine: AsyncEngine, database_url: str
) -> None:
    db = {"CAD_DATABASE_URL": database_url}
    cases = [
        (
            cad("user", "add", "x", "--roles", "pilot", CAD_NEW_PASSWORD="long enough", **db),
            "unknown role pilot",
        ),
        (
            cad("user", "add", "x", "--roles", "leader", CAD_NEW_PASSWORD="short", **db),
            "at least 8 characters",
        ),
        (
            cad("user", "add", "x", "--roles", "leader", CAD_NEW_PASSWORD="password1", **db),
            "common or breached",
        ),
        (cad("user", "disable", "nobody", **db), "no user named nobody"),
        (cad("db", "status", CAD_PORT="99999", **db), "CAD_PORT"),
        (cad("db", "status", CAD_DATABASE_URL="mysql://somewhere/db"), "CAD_DATABASE_URL"),
        (cad("db", "stop", **db), "embedded cluster"),
    ]
    for result, message in cases:
        assert result.returncode == 2, result
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(users)) == 0
        assert await conn.scalar(select(func.count()).select_from(audit_log)) == 0


def test_db_init_leaves_a_database_ready_to_use() -> None:
    with embedded_cluster() as env:
        before = cad("db", "status", **env)
        assert before.returncode == 1
        assert "no embedded cluster yet" in before.stdout
        init = cad("db", "init", **env)
        assert init.returncode == 0, init.stderr
        assert init.stdout.splitlines()[-1].startswith("schema: current (applied 0001_foundation")
        # the next command a new user types
        password = {"CAD_NEW_PASSWORD": "long enough"}
        added = cad("user", "add", "li.wei", "--roles", "dispatcher", **password, **env)
        assert added.returncode == 0, added.stderr
        status = cad("db", "status", **env)
        assert (status.returncode, status.stderr) == (0, "")
        root = (Path(env["CAD_VAR_DIR"]) / "pg").resolve()
        port = env["CAD_EMBEDDED_PORT"]
        assert status.stdout.splitlines() == [
            f"database: the embedded cluster in {root}, running on 127.0.0.1:{port}",
            "schema: current",
        ]
        again = cad("db", "init", **env)
        assert (again.returncode, again.stdout.splitlines()[-1]) == (0, "schema: current")
        halted = cad("db", "stop", **env)
        assert halted.returncode == 0, halted.stderr
        stopped = cad("db", "status", **env)
        assert stopped.returncode == 1, (halted.stdout, stopped.stdout, stopped.stderr)
        assert "is stopped" in stopped.stdout


async def test_db_status_lists_every_pending_revision_of_every_branch(pg_server: PgServer) -> None:
    name = await pg_server.new_empty_database()
    # The server's role, and the owner that migrates.
    urls = {
        "CAD_DATABASE_URL": pg_server.url(name),
        "CAD_DATABASE_ADMIN_URL": pg_server.admin_url(name),
    }
    try:
        # one branch of three brought up to date, the others not started
        await pg_server.migrate(name, "0004_gis_routing")
        applied = {"0001_foundation", "0002_gis", "0004_gis_routing"}
        every = sorted(p.stem for p in VERSIONS.glob("0*.py"))
        status = cad("db", "status", **urls)
        assert (status.returncode, status.stderr) == (1, "")
        lines = status.stdout.splitlines()
        assert "***" in lines[0]
        assert pg_server.cluster.password() not in status.stdout
        assert pg_server.cluster.app_password() not in status.stdout
        pending = [r for r in every if r not in applied]
        assert lines[1:] == [
            f"schema: behind, {len(pending)} pending (run `cad db migrate`):",
            *(f"  {r}" for r in pending),
        ]
        migrated = cad("db", "migrate", **urls)
        assert (migrated.returncode, migrated.stderr) == (0, "")
        assert migrated.stdout == f"schema: current (applied {', '.join(pending)})\n"
        current = cad("db", "status", **urls)
        assert (current.returncode, current.stdout.splitlines()[1]) == (0, "schema: current")
    finally:
        await pg_server.drop_database(name)


async def test_a_database_without_its_schema_is_one_clear_line(pg_server: PgServer) -> None:
    name = await pg_server.new_empty_database()
    try:
        listed = cad("user", "list", CAD_DATABASE_URL=pg_server.url(name))
        assert (listed.returncode, listed.stdout) == (2, "")
        assert listed.stderr == (
            "cad: the database has no schema yet: run `cad db migrate` (or `cad db init`)\n"
        )
    finally:
        await pg_server.drop_database(name)


async def _device_tokens(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(tokens).where(tokens.c.kind == "device")
        return int(await conn.scalar(query) or 0)


async def test_commands_naming_a_unit_refuse_an_unknown_one(
    engine: AsyncEngine, database_url: str, live: LiveApp
) -> None:
    unit = await dispatch_builders.add_unit(engine, "E1", "engine")
    db = {"CAD_DATABASE_URL": database_url}
    password = {"CAD_NEW_PASSWORD": "long enough"}
    for refused in (
        cad("device", "add", "unit-E1", **db),
        cad("device", "add", "E9", "--roles", "field_unit,intake", **db),
        cad("user", "add", "unit-E1", "--roles", "field_unit", **password, **db),
    ):
        assert refused.returncode == 2, refused
        assert refused.stdout == ""
        assert refused.stderr.startswith("cad: there is no unit ")
        assert len(refused.stderr.splitlines()) == 1
    assert await _device_tokens(engine) == 0
    assert await dispatch_builders.count(engine, "users") == 0
    assert await dispatch_builders.count(engine, "audit_log") == 0

    # A unit named by its id or its callsign: the token is its terminal's.
    for name in (unit.id, unit.callsign):
        added = cad("device", "add", name, **db)
        assert added.returncode == 0, added.stderr
        bearer = {"Authorization": f"Bearer {added.stdout.strip()}"}
        assert (await live.http.get("/api/v1/units/E1/assignment", headers=bearer)).is_success
    user = cad("user", "add", "E1", "--roles", "field_unit", **password, **db)
    assert user.returncode == 0, user.stderr
    login = await live.http.post(
        "/api/v1/auth/login", json={"username": "E1", "password": "long enough"}
    )
    bearer = {"Authorization": f"Bearer {login.json()['token']}"}
    assert (await live.http.get("/api/v1/units/E1/assignment", headers=bearer)).is_success
    # A device in another role names no unit.
    assert cad("device", "add", "sms-gateway", "--roles", "intake", **db).returncode == 0


async def test_user_roles_enable_and_device_tokens_revoke(
    engine: AsyncEngine, database_url: str, live: LiveApp
) -> None:
    db = {"CAD_DATABASE_URL": database_url}
    password = {"CAD_NEW_PASSWORD": "long enough"}
    for name in ("root", "ops"):
        assert cad("user", "add", name, "--roles", "admin", **password, **db).returncode == 0
    changed = cad("user", "roles", "ops", "--roles", "dispatcher,leader", **db)
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.strip() == "ops has the roles dispatcher,leader"
    for refused, says in (
        (cad("user", "roles", "root", "--roles", "leader", **db), "last active admin"),
        (cad("user", "disable", "root", **db), "last active admin"),
        (cad("user", "roles", "ops", "--roles", "intake", **db), "a device's role"),
        (cad("device", "add", "tablet", "--roles", "admin", **db), "only the roles"),
    ):
        assert refused.returncode == 2, refused
        assert says in refused.stderr
        assert len(refused.stderr.splitlines()) == 1
    assert cad("user", "disable", "ops", **db).returncode == 0
    assert cad("user", "enable", "ops", **db).returncode == 0
    assert "ops" in cad("user", "list", **db).stdout

    added = cad("device", "add", "sms-gateway", "--roles", "intake", **db)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await live.http.get("/api/v1/auth/me", headers=bearer)).json()["roles"] == ["intake"]
    listed = cad("device", "tokens", **db)
    assert listed.returncode == 0, listed.stderr
    assert token not in listed.stdout
    row = next(line for line in listed.stdout.splitlines() if "sms-gateway" in line)
    token_id = row.split()[0]
    assert "intake" in row
    assert cad("device", "revoke", token_id, **db).stdout.strip() == (
        f"revoked device token {token_id} (sms-gateway)"
    )
    assert (await live.http.get("/api/v1/auth/me", headers=bearer)).status_code == 401
    again = cad("device", "revoke", token_id, **db)
    assert again.returncode == 2
    assert "revoked already" in again.stderr
    async with engine.connect() as conn:
        actions = (await conn.execute(select(audit_log.c.action))).scalars().all()
    assert actions.count("user.roles") == 1
    assert actions.count("device.revoke") == 1


async def test_the_api_refuses_a_device_token_for_an_unknown_unit(
    engine: AsyncEngine, live: LiveApp
) -> None:
    admin = await builders.signed_in(live.http, engine, "ops1", "admin")
    refused = await live.http.post(
        "/api/v1/devices", json={"device": "unit-E1", "roles": ["field_unit"]}, headers=admin
    )
    assert refused.status_code == 404
    assert refused.json()["code"] == "unit.unknown"
    assert refused.json()["params"] == {"unit_id": "unit-E1"}
    assert await _device_tokens(engine) == 0
    await dispatch_builders.add_unit(engine, "E1", "engine")
    added = await live.http.post(
        "/api/v1/devices", json={"device": "E1", "roles": ["field_unit"]}, headers=admin
    )
    assert added.status_code == 201
    assert await _device_tokens(engine) == 1


async def test_device_bind_list_unbind(engine: AsyncEngine, database_url: str) -> None:
    await dispatch_builders.add_unit(engine, "E1", "engine")
    db = {"CAD_DATABASE_URL": database_url}
    refused = cad("device", "bind", "357938035643809", "E9", **db)
    assert refused.returncode == 2, refused
    assert len(refused.stderr.splitlines()) == 1
    bound = cad("device", "bind", "357938035643809", "E1", **db)
    assert bound.returncode == 0, bound.stderr
    assert bound.stdout.strip() == "bound 357938035643809 to unit E1"
    listed = cad("device", "list", **db)
    assert "357938035643809" in listed.stdout
    assert " E1 " in listed.stdout
    assert cad("device", "unbind", "357938035643809", **db).returncode == 0
    again = cad("device", "unbind", "357938035643809", **db)
    assert again.returncode == 2
    assert "bound to no unit" in again.stderr
    async with engine.connect() as conn:
        written = select(audit_log.c.action).order_by(audit_log.c.id)
        actions = (await conn.execute(written)).scalars().all()
    assert actions == ["device.bind", "device.unbind"]
