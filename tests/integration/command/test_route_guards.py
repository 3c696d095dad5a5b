"""Every route and websocket refuses a caller without a valid token (none is left open)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence

import pytest
import websockets
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import BaseRoute

from command.app import create_app
from command.settings import Settings
from tests.support.database import PgServer
from tests.support.live import LiveApp, serve

# Open on purpose: monitoring, signing in, the API description, and OsmAnd trackers (their
# bound device id is their only credential: docs/protocols/osmand.md).
OPEN = {
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/osmand"),
    ("POST", "/api/v1/osmand"),
}


def _walk(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # an included router
        if inner is not None:
            yield from _walk(inner.routes)
        else:
            yield route


def _routes() -> tuple[list[tuple[str, str]], list[str]]:
    app = create_app(Settings())
    http: list[tuple[str, str]] = []
    ws: list[str] = []
    for route in _walk(app.routes):
        if isinstance(route, APIRoute) and route.path.startswith("/api/"):
            http += [(m, route.path) for m in sorted(route.methods or ())]
        elif isinstance(route, APIWebSocketRoute):
            ws.append(route.path)
    return http, ws


HTTP_ROUTES, WS_ROUTES = _routes()


@pytest.fixture(scope="module")
async def guarded(pg_server: PgServer) -> AsyncIterator[LiveApp]:
    """One app for all the checks here: they only knock and are turned away."""
    name = await pg_server.new_database()
    try:
        async with serve(pg_server.url(name)) as app:
            yield app
    finally:
        await pg_server.drop_database(name)


def _concrete(path: str) -> str:
    # Path parameters get a plausible value; the guard must answer before anything else.
    path = re.sub(r"\{[^}]*:path\}", "x", path)
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_app_has_guarded_routes() -> None:
    assert len(HTTP_ROUTES) > 20
    assert WS_ROUTES


@pytest.mark.parametrize(("method", "path"), [r for r in HTTP_ROUTES if r not in OPEN])
async def test_http_route_needs_a_token(guarded: LiveApp, method: str, path: str) -> None:
    r = await guarded.http.request(
        method, _concrete(path), headers={"Authorization": "Bearer nope"}
    )
    assert r.status_code == 401, f"{method} {path} answered {r.status_code} without a valid token"


@pytest.mark.parametrize("path", WS_ROUTES)
async def test_websocket_needs_a_token(guarded: LiveApp, path: str) -> None:
    async with websockets.connect(f"{guarded.ws_url}{_concrete(path)}?token=nope") as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
