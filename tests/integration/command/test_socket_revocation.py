"""Open websockets end with their token, over real websockets: a disabled user's event and
tracking sockets, a revoked device's terminal socket, a signed-out session's, and a role
change's, each closed within a second with its code and reason, while other users' stay open;
and a socket on a second server closed by a revocation on the first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import websockets
from sqlalchemy import func, update
from websockets.asyncio.client import ClientConnection

from command.tables import tokens
from tests.support import builders, dispatch_builders
from tests.support.live import LiveApp, serve
from tests.support.terminal import connected
from tests.support.waiting import until


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


@asynccontextmanager
async def _events(app: LiveApp, headers: dict[str, str]) -> AsyncIterator[ClientConnection]:
    async with websockets.connect(f"{app.ws_url}/api/v1/events/ws?token={_token(headers)}") as ws:
        yield ws


@asynccontextmanager
async def _tracking(app: LiveApp, headers: dict[str, str]) -> AsyncIterator[ClientConnection]:
    url = f"{app.ws_url}/api/v1/tracking/ws?token={_token(headers)}"
    async with websockets.connect(url) as ws:
        yield ws


async def _closed_within(ws: ClientConnection, limit: float = 1.0) -> tuple[int, str, float]:
    """The close code and reason the server sent, and how long it took to arrive."""
    start = time.monotonic()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(limit):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None, "closed without a close frame from the server"
    return closed.value.rcvd.code, closed.value.rcvd.reason, time.monotonic() - start


async def _still_open(ws: ClientConnection) -> None:
    pong = await ws.ping()
    async with asyncio.timeout(2):
        await pong


async def test_disabling_a_user_closes_its_event_and_tracking_sockets(live: LiveApp) -> None:
    engine = live.container.engine
    admin = await builders.signed_in(live.http, engine, "root", "admin")
    anna = await builders.signed_in(live.http, engine, "anna", "dispatcher")
    bob = await builders.signed_in(live.http, engine, "bob", "dispatcher")
    async with (
        _events(live, anna) as anna_events,
        _tracking(live, anna) as anna_map,
        _events(live, bob) as bob_events,
        _tracking(live, bob) as bob_map,
    ):
        await until(lambda: len(live.container.sockets) == 4)
        health = (await live.http.get("/api/v1/health")).json()["parts"]["revocations"]
        assert health == {
            "status": "ok", "detail": "4 socket(s) watched for revocation", "code": None,
            "params": {},
        }
        r = await live.http.post("/api/v1/users/anna/disable", headers=admin)
        assert r.status_code == 204
        for ws in (anna_events, anna_map):
            code, reason, took = await _closed_within(ws)
            assert (code, reason) == (4401, "the account was disabled")
            assert took < 1.0
        for ws in (bob_events, bob_map):
            await _still_open(ws)
        assert len(live.container.sockets) == 2


async def test_revoking_a_device_token_closes_its_terminal_socket(live: LiveApp) -> None:
    engine = live.container.engine
    admin = await builders.signed_in(live.http, engine, "root", "admin")
    for unit in ("E1", "E2"):
        await dispatch_builders.add_unit(engine, unit, "engine")
    issued = await live.http.post("/api/v1/devices", json={"device": "E1"}, headers=admin)
    other = await builders.device(engine, "E2")
    async with (
        connected(live.ws_url, issued.json()["token"]) as e1,
        connected(live.ws_url, other) as e2,
    ):
        await until(lambda: len(live.container.sockets) == 2)
        r = await live.http.delete(f"/api/v1/devices/{issued.json()['id']}", headers=admin)
        assert r.status_code == 200
        code, reason, _ = await _closed_within(e1.ws)
        assert (code, reason) == (4401, "the device token was revoked")
        await _still_open(e2.ws)


async def test_signing_out_and_a_role_change_close_the_session_s_sockets(live: LiveApp) -> None:
    engine = live.container.engine
    admin = await builders.signed_in(live.http, engine, "root", "admin")
    anna = await builders.signed_in(live.http, engine, "anna", "dispatcher")
    async with _events(live, anna) as ws:
        await until(lambda: len(live.container.sockets) == 1)
        assert (await live.http.post("/api/v1/auth/logout", headers=anna)).status_code == 204
        assert (await _closed_within(ws))[:2] == (4401, "signed out")

    await builders.user(engine, "carl", "dispatcher")
    login = await live.http.post(
        "/api/v1/auth/login", json={"username": "carl", "password": builders.PASSWORD}
    )
    carl = {"Authorization": f"Bearer {login.json()['token']}"}
    async with _events(live, carl) as ws:
        await until(lambda: len(live.container.sockets) == 1)
        r = await live.http.put(
            "/api/v1/users/carl/roles", json={"roles": ["leader"]}, headers=admin
        )
        assert r.status_code == 200
        assert (await _closed_within(ws))[:2] == (4409, "your roles changed: reconnect")
    # Reconnecting with the same session: it has the new roles, and leaders follow events.
    async with _events(live, carl) as ws:
        await until(lambda: len(live.container.sockets) == 1)
        await _still_open(ws)


async def test_a_token_ended_unannounced_is_found_by_the_recheck(live: LiveApp) -> None:
    engine = live.container.engine
    anna = await builders.signed_in(live.http, engine, "anna", "dispatcher")
    async with _events(live, anna) as ws:
        await until(lambda: len(live.container.sockets) == 1)
        async with engine.begin() as conn:  # as if the notification had been lost
            await conn.execute(update(tokens).values(revoked_at=func.now()))
        assert await live.container.revocations.recheck() == 1
        assert (await _closed_within(ws))[0] == 4401


async def test_a_revocation_on_one_server_closes_the_socket_on_another(
    live: LiveApp, database_url: str
) -> None:
    engine = live.container.engine
    admin = await builders.signed_in(live.http, engine, "root", "admin")
    anna = await builders.signed_in(live.http, engine, "anna", "dispatcher")
    bob = await builders.signed_in(live.http, engine, "bob", "dispatcher")
    async with (
        serve(database_url) as other,
        _events(other, anna) as anna_there,
        _events(other, bob) as bob_there,
    ):
        await until(lambda: len(other.container.sockets) == 2)
        r = await live.http.post("/api/v1/users/anna/disable", headers=admin)
        assert r.status_code == 204
        code, reason, _ = await _closed_within(anna_there)
        assert (code, reason) == (4401, "the account was disabled")
        await _still_open(bob_there)
