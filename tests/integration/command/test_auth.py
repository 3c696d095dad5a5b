"""Sign-in, lockout, idle expiry and role checks over real HTTP and websockets."""

from __future__ import annotations

from datetime import timedelta

import pytest
import websockets
from sqlalchemy import func, select

from command.tables import audit_log, users
from tests.support import builders, dispatch_builders
from tests.support.live import LiveApp


async def _login(live: LiveApp, username: str, password: str) -> tuple[int, dict[str, object]]:
    r = await live.http.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    return r.status_code, r.json()


async def test_sign_in_and_who_am_i(live: LiveApp) -> None:
    headers = await builders.signed_in(live.http, live.container.engine, "anna", "dispatcher")
    r = await live.http.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 200
    assert r.json() == {
        "kind": "user",
        "name": "anna",
        "roles": ["dispatcher"],
        "command_level": None,
        "region": "liechtenstein",
        "limited_to": None,
    }


async def test_five_failures_lock_the_account_from_that_address_for_ten_minutes(
    live: LiveApp,
) -> None:
    await builders.user(live.container.engine, "bob", "call_taker")
    for _ in range(5):
        status, body = await _login(live, "bob", "wrong password")
        assert status == 401
        assert body["message"] == "wrong username or password"
    # The right password does not help while locked.
    r = await live.http.post(
        "/api/v1/auth/login", json={"username": "bob", "password": builders.PASSWORD}
    )
    assert r.status_code == 429
    assert r.json()["code"] == "auth.throttled"
    # Ten minutes from the fifth failure, less what a busy machine took since (whole seconds).
    wait = r.json()["params"]["retry_after_s"]
    assert int(r.headers["Retry-After"]) == wait
    assert 590 <= wait <= 600
    live.advance(timedelta(minutes=9))
    status, _ = await _login(live, "bob", builders.PASSWORD)
    assert status == 429
    live.advance(timedelta(minutes=1, seconds=1))
    status, body = await _login(live, "bob", builders.PASSWORD)
    assert status == 200, body
    async with live.container.engine.connect() as conn:
        failures = await conn.scalar(
            select(func.count())
            .select_from(audit_log)
            .where(audit_log.c.action == "login", audit_log.c.result.like("failed%"))
        )
    # Waiting out a lock costs no hash and writes no row: only the five failures are recorded.
    assert failures == 5


async def test_success_resets_the_failure_count(live: LiveApp) -> None:
    await builders.user(live.container.engine, "carl", "call_taker")
    for _ in range(4):
        assert (await _login(live, "carl", "nope nope"))[0] == 401
    assert (await _login(live, "carl", builders.PASSWORD))[0] == 200
    for _ in range(4):
        assert (await _login(live, "carl", "nope nope"))[0] == 401
    assert (await _login(live, "carl", builders.PASSWORD))[0] == 200


async def test_idle_session_expires(live: LiveApp) -> None:
    headers = await builders.signed_in(live.http, live.container.engine, "dora", "leader")
    live.advance(timedelta(minutes=29))
    assert (await live.http.get("/api/v1/auth/me", headers=headers)).status_code == 200
    # Activity keeps it alive: another 29 minutes are fine.
    live.advance(timedelta(minutes=29))
    assert (await live.http.get("/api/v1/auth/me", headers=headers)).status_code == 200
    live.advance(timedelta(minutes=31))
    r = await live.http.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401
    assert "expired" in r.json()["message"]


async def test_logout_ends_the_session(live: LiveApp) -> None:
    headers = await builders.signed_in(live.http, live.container.engine, "emil", "dispatcher")
    assert (await live.http.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await live.http.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_role_refused_on_http_route_and_audited(live: LiveApp) -> None:
    headers = await builders.signed_in(live.http, live.container.engine, "fay", "call_taker")
    r = await live.http.post(
        "/api/v1/users",
        json={"username": "mallory", "password": "12345678", "roles": ["admin"]},
        headers=headers,
    )
    assert r.status_code == 403
    assert "admin" in r.json()["message"]
    async with live.container.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).where(users.c.username == "mallory")) == 0
        denied = await conn.scalar(
            select(func.count()).select_from(audit_log).where(audit_log.c.result == "denied")
        )
    assert denied == 1


async def test_no_token_is_unauthorized(live: LiveApp) -> None:
    r = await live.http.get("/api/v1/users")
    assert r.status_code == 401
    r = await live.http.get("/api/v1/users", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401


async def test_role_refused_on_websocket(live: LiveApp) -> None:
    token = await builders.device(live.container.engine, "unit-E1")
    async with websockets.connect(f"{live.ws_url}/api/v1/events/ws?token={token}") as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
    async with websockets.connect(f"{live.ws_url}/api/v1/events/ws") as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_admin_adds_user_and_device(live: LiveApp) -> None:
    headers = await builders.signed_in(live.http, live.container.engine, "root1", "admin")
    r = await live.http.post(
        "/api/v1/users",
        json={"username": "gina", "password": "longenough", "roles": ["dispatcher"]},
        headers=headers,
    )
    assert r.status_code == 201
    assert (await _login(live, "gina", "longenough"))[0] == 200
    await dispatch_builders.add_unit(live.container.engine, "unit-A1", "engine")
    r = await live.http.post("/api/v1/devices", json={"device": "unit-A1"}, headers=headers)
    assert r.status_code == 201
    device_headers = {"Authorization": f"Bearer {r.json()['token']}"}
    me = await live.http.get("/api/v1/auth/me", headers=device_headers)
    assert me.json()["kind"] == "device"
    assert me.json()["name"] == "unit-A1"
    assert me.json()["roles"] == ["field_unit"]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "h", "password": "short", "roles": ["dispatcher"]},
        {"username": "h", "password": "longenough", "roles": ["pilot"]},
        {"username": "h", "password": "longenough", "roles": []},
        {"username": "", "password": "longenough", "roles": ["dispatcher"]},
        {"username": "x" * 10_000, "password": "longenough", "roles": ["dispatcher"]},
        {"password": "longenough", "roles": ["dispatcher"]},
        {"username": "h", "password": "longenough", "roles": ["dispatcher"], "language": "fr"},
    ],
)
async def test_malformed_user_is_refused_and_nothing_written(
    live: LiveApp, body: dict[str, object]
) -> None:
    headers = await builders.signed_in(live.http, live.container.engine, "root2", "admin")
    async with live.container.engine.connect() as conn:
        before = await conn.scalar(select(func.count()).select_from(users))
        audit_before = await conn.scalar(select(func.count()).select_from(audit_log))
    r = await live.http.post("/api/v1/users", json=body, headers=headers)
    assert r.status_code == 422
    assert r.json()["message"]
    async with live.container.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(users)) == before
        assert await conn.scalar(select(func.count()).select_from(audit_log)) == audit_before


async def test_not_json_is_refused(live: LiveApp) -> None:
    r = await live.http.post(
        "/api/v1/auth/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    r = await live.http.post("/api/v1/auth/login", json={"username": "u" * 10_000, "password": "p"})
    assert r.status_code == 422


async def test_duplicate_user_is_a_conflict(live: LiveApp) -> None:
    headers = await builders.signed_in(live.http, live.container.engine, "root3", "admin")
    body = {"username": "ivan", "password": "longenough", "roles": ["dispatcher"]}
    assert (await live.http.post("/api/v1/users", json=body, headers=headers)).status_code == 201
    r = await live.http.post("/api/v1/users", json=body, headers=headers)
    assert r.status_code == 409
    assert "already exists" in r.json()["message"]


async def test_health_reports_database_ok(live: LiveApp) -> None:
    r = await live.http.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["parts"]["database"]["status"] == "ok"
