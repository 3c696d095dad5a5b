"""Two servers on one database: a unit reported to one is seen by a console on the other,
through PostgreSQL notifications, batched, and again after the listening connection is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.tracking.relay_pg import CHANNEL
from dispatch.avl.fixes import Reported
from tests.support.dispatch_builders import add_unit
from tests.support.live import serve
from tests.support.tracking import console, console_token, fix, frame, subscribe


async def _until(condition: Callable[[], bool], seconds: float = 20) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.05)


async def _positions(ws: Any, units: int) -> dict[str, dict[str, Any]]:
    got: dict[str, dict[str, Any]] = {}
    while len(got) < units:
        answer = await frame(ws)
        assert answer["type"] == "positions"
        got.update({p["unit_id"]: p for p in answer["positions"]})
    return got


async def test_a_unit_reported_on_one_server_is_seen_on_the_other(
    database_url: str, engine: AsyncEngine
) -> None:
    options = {"ami_enabled": False, "tracking_rate_hz": 20.0}
    async with serve(database_url, **options) as a, serve(database_url, **options) as b:
        token = await console_token(a, engine, "watcher")
        async with console(a, token) as on_a, console(b, token) as on_b:
            await subscribe(on_a)
            await subscribe(on_b)
            # Reported on A as a terminal's position is: checked, stored, relayed.
            await add_unit(engine, "E1", "engine")
            reported = Reported(47.13, 9.52, datetime.now(UTC), speed_mps=12.5)
            taken = await a.container.tracking.report("E1", [(reported, None)], "terminal")
            assert taken.accepted == 1
            [(unit, position)] = (await _positions(on_b, 1)).items()
            assert (unit, position["lon"], position["lat"]) == ("E1", 9.52, 47.13)
            assert position["speed"] == 12.5
            assert (await _positions(on_a, 1))["E1"]["lon"] == 9.52  # its own, directly
            # A fleet's worth in one go travels in a few notifications, not one per fix.
            sent = a.container.relay.sent_notifications
            await a.container.relay.publish([fix(f"U{i}", 9.5, 47.1, 2) for i in range(500)])
            assert len(await _positions(on_b, 500)) == 500
            assert a.container.relay.sent_notifications - sent <= 10
            # Each server skips its own notifications and takes the other's.
            assert a.container.relay.received_fixes == 0
            assert b.container.relay.received_fixes == 501
        # A console that connects to the other server later has the whole picture at once.
        async with console(b, token) as late:
            assert len(await subscribe(late)) == 501


async def test_the_relay_listens_again_after_its_connection_is_lost(
    database_url: str, engine: AsyncEngine
) -> None:
    options = {"ami_enabled": False, "tracking_rate_hz": 20.0}
    async with serve(database_url, **options) as a, serve(database_url, **options) as b:
        relay = b.container.relay
        relay._reconnect_interval = 0.2  # the test does not wait the default two seconds
        async with engine.connect() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE query LIKE :listen AND pid <> pg_backend_pid()"
                ),
                {"listen": f'%LISTEN "{CHANNEL}"%'},
            )
        assert killed == 2  # both servers' listeners
        await _until(lambda: not relay.listening)
        await _until(lambda: relay.listening)
        token = await console_token(a, engine, "watcher2")
        async with console(b, token) as on_b:
            await subscribe(on_b)
            await a.container.relay.publish([fix("E9", 9.52, 47.13, 1)])
            assert "E9" in await _positions(on_b, 1)
        health = (await b.http.get("/api/v1/health")).json()
        assert health["parts"]["tracking"]["status"] == "ok"
