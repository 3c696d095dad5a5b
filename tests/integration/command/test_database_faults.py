"""The database away or frozen: clients get 503 with Retry-After within seconds, never a 500
or a hang, and the app serves again by itself when the database is back."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import websockets
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.exceptions import ConnectionClosed

from tests.support import builders
from tests.support.database import PgServer
from tests.support.live import LiveApp, serve


@pytest.fixture
async def own_server() -> AsyncIterator[PgServer]:
    """A cluster of this test's own, which it may stop and freeze."""
    server = PgServer()
    server.start()
    try:
        await server.build_template()
        yield server
    finally:
        server.stop()


async def _signed_in(live: LiveApp, url: str) -> dict[str, str]:
    engine = create_async_engine(url)
    try:
        return await builders.signed_in(live.http, engine, "disp1", "dispatcher")
    finally:
        await engine.dispose()


async def _until_served(live: LiveApp, headers: dict[str, str], limit: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while (await live.http.get("/api/v1/incidents", headers=headers)).status_code != 200:
        assert asyncio.get_running_loop().time() < deadline, "not served again"
        await asyncio.sleep(0.2)


def _server_pids(server: PgServer) -> list[int]:
    postmaster = int((server.cluster.data / "postmaster.pid").read_text().split()[0])
    children = [
        int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == postmaster
    ]
    return [postmaster, *children]


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


@contextmanager
def _frozen(pids: list[int]) -> Iterator[None]:
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


async def test_a_stopped_database_is_a_503_and_the_app_comes_back(own_server: PgServer) -> None:
    url = own_server.url(await own_server.new_database())
    async with serve(url, db_connect_timeout_s=1.0) as live:
        headers = await _signed_in(live, url)
        assert (await live.http.get("/api/v1/incidents", headers=headers)).status_code == 200
        own_server.cluster.stop()
        r = await live.http.get("/api/v1/incidents", headers=headers)
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "database.unavailable"
        assert r.headers["Retry-After"] == "2"
        r = await live.http.post(
            "/api/v1/incidents", headers=headers, json={"type": "medical", "lon": 9.5, "lat": 47.1}
        )
        assert r.status_code == 503, r.text
        # With an Idempotency-Key too: its record cannot be claimed either, nothing was done.
        r = await live.http.post(
            "/api/v1/incidents",
            headers={**headers, "Idempotency-Key": "while-down-1"},
            json={"type": "medical", "lon": 9.5, "lat": 47.1},
        )
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "database.unavailable"
        assert r.headers["Retry-After"] == "2"
        # A console opening the event stream is told to come back, not failed by the server.
        ws_url = live.base_url.replace("http", "ws", 1)
        token = headers["Authorization"].removeprefix("Bearer ")
        async with websockets.connect(f"{ws_url}/api/v1/events/ws?token={token}") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1013, "database.unavailable")
        own_server.cluster.start()
        await _until_served(live, headers)


async def test_a_frozen_database_is_a_503_within_seconds(own_server: PgServer) -> None:
    url = own_server.url(await own_server.new_database())
    async with serve(url, db_connect_timeout_s=1.0, db_statement_timeout_ms=1000) as live:
        headers = await _signed_in(live, url)
        assert (await live.http.get("/api/v1/incidents", headers=headers)).status_code == 200
        loop = asyncio.get_running_loop()
        with _frozen(_server_pids(own_server)):
            started = loop.time()
            r = await live.http.get("/api/v1/incidents", headers=headers)
            waited = loop.time() - started
        assert r.status_code == 503, r.text
        assert r.json()["code"] in ("database.unavailable", "database.busy")
        assert waited < 8, waited
        await _until_served(live, headers)
