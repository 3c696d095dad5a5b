"""The browser edge over real HTTP and websockets: a page of another origin cannot open any of
the websockets (cross-site websocket hijacking), the service's own origin and the configured
ones can, clients without an Origin (terminals) can; and every answer carries the security
headers."""

from __future__ import annotations

import pytest
import websockets

from tests.support import builders
from tests.support.live import LiveApp, serve

WS_ROUTES = (
    "/api/v1/events/ws",
    "/api/v1/tracking/ws",
    "/api/v1/units/ws",
    "/api/v1/telephony/ws?seat=Local/1001@agents",
)


def _with_token(route: str, token: str) -> str:
    return f"{route}{'&' if '?' in route else '?'}token={token}"


async def _close_of(url: str, origin: str | None) -> tuple[int, str]:
    extra = {} if origin is None else {"origin": origin}
    async with websockets.connect(url, **extra) as ws:  # type: ignore[arg-type]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.parametrize("route", WS_ROUTES)
async def test_a_cross_origin_websocket_is_refused_on_every_route(
    live: LiveApp, route: str
) -> None:
    admin = await builders.signed_in(live.http, live.container.engine, "root", "admin")
    url = live.ws_url + _with_token(route, admin["Authorization"][7:])
    code, reason = await _close_of(url, "https://evil.example")
    assert code == 4403
    assert reason == "origin https://evil.example may not open this websocket"
    assert len(live.container.sockets) == 0
    # A sandboxed frame or a file sends "null": refused too.
    assert (await _close_of(url, "null"))[0] == 4403


@pytest.mark.parametrize("route", WS_ROUTES)
async def test_own_origin_and_no_origin_pass_the_check(live: LiveApp, route: str) -> None:
    url = live.ws_url + _with_token(route, "not-a-token")
    # Past the origin check, the token is what is refused.
    assert (await _close_of(url, live.base_url))[0] == 4401
    assert (await _close_of(url, None))[0] == 4401


async def test_a_configured_origin_may_open_websockets(database_url: str) -> None:
    async with serve(database_url, allowed_origins="https://Console.example/, http://x:81") as app:
        url = f"{app.ws_url}/api/v1/events/ws?token=nope"
        assert (await _close_of(url, "https://console.example"))[0] == 4401
        assert (await _close_of(url, "http://x:81"))[0] == 4401
        assert (await _close_of(url, "http://x:82"))[0] == 4403
        assert (await _close_of(url, "https://evil.example"))[0] == 4403


async def test_every_answer_carries_the_security_headers(live: LiveApp) -> None:
    dispatcher = await builders.signed_in(live.http, live.container.engine, "d", "dispatcher")
    answers = {
        "api": await live.http.get("/api/v1/auth/me", headers=dispatcher),
        "api error": await live.http.get("/api/v1/users"),
        "api unknown": await live.http.get("/api/v1/nothing-here"),
        "console": await live.http.get("/console/"),
        "console script": await live.http.get("/console/console.js"),
    }
    for what, r in answers.items():
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp, what
        assert "script-src 'self'" in csp, what
        assert "unsafe-inline" not in csp, what
        assert r.headers["x-content-type-options"] == "nosniff", what
        assert r.headers["referrer-policy"] == "no-referrer", what
    for what in ("api", "api error", "api unknown"):
        assert answers[what].headers["cache-control"] == "no-store", what
    assert "no-store" not in answers["console script"].headers.get("cache-control", "")
    # The console page itself has no inline script or style for the policy to refuse.
    page = answers["console"].text
    assert "<style" not in page
    assert " style=" not in page
    assert all("src=" in tag for tag in page.split("<script")[1:])
