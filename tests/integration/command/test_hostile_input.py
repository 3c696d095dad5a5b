"""Hostile input over real HTTP: answered with a 4xx that names the field, and nothing kept."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import websockets
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import builders, dispatch_builders
from tests.support.live import LiveApp, serve

TOO_BIG = "99999999999999999999"


async def _raw(live: LiveApp, request: bytes) -> tuple[int, dict[str, Any]]:
    """Send bytes as they are (no client library would send these) and read the answer."""
    host, port = live.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return status, json.loads(await reader.readexactly(length))
    finally:
        writer.close()


async def test_integers_past_64_bits_are_refused_with_the_field(
    live: LiveApp, engine: AsyncEngine
) -> None:
    headers = await builders.signed_in(live.http, engine, "disp1", "dispatcher")
    r = await live.http.get(f"/api/v1/incidents/{TOO_BIG}", headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "request.invalid"
    assert [p["field"] for p in r.json()["params"]["problems"]] == ["incident_id"]
    r = await live.http.get(f"/api/v1/events?after={TOO_BIG}", headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["params"]["problems"][0]["code"] == "int_range"


async def test_nul_in_a_text_field_is_refused_and_nothing_is_stored(
    live: LiveApp, engine: AsyncEngine
) -> None:
    headers = await builders.signed_in(live.http, engine, "ct1", "call_taker")
    r = await live.http.post(
        "/api/v1/incidents",
        headers=headers,
        json={"type": "medical", "lon": 9.52, "lat": 47.14, "summary": "a\x00b"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["params"]["problems"][0]["field"] == "summary"
    assert await dispatch_builders.count(engine, "incidents") == 0


async def test_the_login_form_without_credentials_refuses_nul(live: LiveApp) -> None:
    r = await live.http.post("/api/v1/auth/login", json={"username": "\x00", "password": "x"})
    assert (r.status_code, r.json()["params"]["problems"][0]["field"]) == (422, "username")
    r = await live.http.get("/api/v1/gis/geocode", params={"q": "Land\x00strasse"})
    assert r.status_code == 422, r.text


async def test_an_empty_external_id_is_refused(live: LiveApp, engine: AsyncEngine) -> None:
    headers = await builders.signed_in(live.http, engine, "ct1", "call_taker")
    r = await live.http.post(
        "/api/v1/telephony/intake/sms",
        headers=headers,
        json={"sender": "+4237776000", "text": "help", "external_id": ""},
    )
    assert r.status_code == 422, r.text
    assert r.json()["params"]["problems"][0]["field"] == "external_id"


async def test_a_huge_body_is_refused_before_it_is_read(live: LiveApp) -> None:
    # 200 MB announced, none sent: the answer comes at once, without credentials.
    status, body = await _raw(
        live,
        b"POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 200000000\r\n\r\n{",
    )
    assert (status, body["code"]) == (413, "request.too_large")
    assert body["params"] == {"limit_bytes": 1_048_576, "size_bytes": 200_000_000}
    # sign-in takes far less
    status, body = await _raw(
        live,
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n",
    )
    assert (status, body["params"]["limit_bytes"]) == (413, 16_384)


async def test_a_chunked_body_past_the_limit_is_cut_off(live: LiveApp) -> None:
    chunk = b"x" * 600_000
    size = f"{len(chunk):x}".encode()
    status, body = await _raw(
        live,
        b"POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + (size + b"\r\n" + chunk + b"\r\n") * 2,
    )
    assert (status, body["code"]) == (413, "request.too_large")


async def test_a_body_that_never_arrives_is_answered(database_url: str) -> None:
    async with serve(database_url, body_timeout_s=0.5) as live:
        status, body = await _raw(
            live,
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 50\r\n\r\n{",
        )
        assert (status, body["code"]) == (408, "request.body_timeout")
        assert body["params"] == {"seconds": 0.5}


async def test_websockets_refuse_what_http_refuses(live: LiveApp, engine: AsyncEngine) -> None:
    headers = await builders.signed_in(live.http, engine, "disp1", "dispatcher")
    token = headers["Authorization"].removeprefix("Bearer ")
    for query, code in ((f"after={TOO_BIG}", 4400), ("after=0&x=%00", 4422)):
        async with websockets.connect(
            f"{live.ws_url}/api/v1/events/ws?token={token}&{query}"
        ) as ws:
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.recv()
            assert ws.close_code == code, query


async def test_ordinary_requests_pass_the_edge_on_one_connection(live: LiveApp) -> None:
    # A body-less request must reach the app with the server's own receive: files streamed
    # one after another on a kept-alive connection come whole.
    for path in ("/console/", "/console/console.js", "/console/map.js", "/openapi.json"):
        r = await live.http.get(path)
        assert r.status_code == 200, path
        assert len(r.content) == int(r.headers["content-length"]), path
