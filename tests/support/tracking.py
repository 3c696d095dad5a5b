"""Builders for the tracking tests: fixes, and a console on the tracking websocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection

from dispatch.avl.fixes import Fix
from tests.support import builders
from tests.support.live import LiveApp

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def fix(unit: str, lon: float, lat: float, s: float = 0.0) -> Fix:
    """A fix ``s`` seconds after the tests' start time."""
    at = T0 + timedelta(seconds=s)
    return Fix(unit, lon, lat, at, at, "terminal", speed_mps=12.5, heading_deg=90.0)


async def console_token(live: LiveApp, engine: AsyncEngine, name: str) -> str:
    headers = await builders.signed_in(live.http, engine, name, "dispatcher")
    return headers["Authorization"].removeprefix("Bearer ")


@asynccontextmanager
async def console(live: LiveApp, token: str, **options: Any) -> AsyncIterator[ClientConnection]:
    async with websockets.connect(
        f"{live.ws_url}/api/v1/tracking/ws?token={token}", **options
    ) as ws:
        yield ws


async def frame(ws: ClientConnection, timeout: float = 15) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return data


async def subscribe(ws: ClientConnection, **message: Any) -> list[dict[str, Any]]:
    """Subscribe and return the snapshot's positions."""
    await ws.send(json.dumps({"type": "subscribe", **message}))
    answer = await frame(ws)
    assert answer["type"] == "snapshot", answer
    positions: list[dict[str, Any]] = answer["positions"]
    return positions


async def marker(
    engine: AsyncEngine, unit_id: str
) -> tuple[float | None, float | None, datetime | None]:
    """A unit's latest position on the map (lon, lat, device time), as stored."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT ST_X(fix) AS lon, ST_Y(fix) AS lat, fix_at FROM dispatch_units "
                     "WHERE id = :u"),
                {"u": unit_id},
            )
        ).one()
    return row.lon, row.lat, row.fix_at
