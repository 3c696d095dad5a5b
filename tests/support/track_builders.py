"""Breadcrumbs for tests: fixes along a line, written straight through the store, and incidents
and assignments placed in the past (retention and playback look back days)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.avl import store
from dispatch.avl.fixes import Fix

_numbers = itertools.count(1)


def fix(unit: str, at: datetime, lon: float = 9.52, lat: float = 47.14, jump: bool = False) -> Fix:
    return Fix(unit, lon, lat, at, at, "terminal", speed_mps=10.0, jump=jump)


def every(
    unit: str, start: datetime, end: datetime, step: timedelta, east_m_per_step: float = 0.0
) -> list[Fix]:
    """A fix every ``step`` from ``start`` to ``end`` (inclusive), moving east."""
    out: list[Fix] = []
    n = 0
    while start + n * step <= end:
        out.append(fix(unit, start + n * step, lon=9.52 + n * east_m_per_step / 75_900.0))
        n += 1
    return out


async def write(engine: AsyncEngine, fixes: Sequence[Fix]) -> None:
    async with engine.begin() as conn:
        await store.write_batch(conn, fixes)


async def unit(engine: AsyncEngine, unit_id: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO dispatch_units (id, callsign, unit_type, capabilities, crew, status, "
                "status_since) VALUES (:u, :u, 'engine', '{engine}', 4, 'available', now())"
            ),
            {"u": unit_id},
        )


async def incident(engine: AsyncEngine, at: datetime) -> int:
    async with engine.begin() as conn:
        return int(
            await conn.scalar(
                text(
                    "INSERT INTO incidents (number, type_code, priority, response_level, status, "
                    "command_level, geom, created_by, created_at, updated_at) VALUES (:n, 'fire', "
                    "1, 4, 'new', 'district', ST_SetSRID(ST_MakePoint(9.5, 47.1), 4326), 't', "
                    ":at, :at) RETURNING id"
                ),
                {"n": f"2026-{next(_numbers):06d}", "at": at},
            )
        )


async def assignment(
    engine: AsyncEngine, incident_id: int, unit_id: str, start: datetime, end: datetime | None
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO dispatch_assignments (incident_id, unit_id, assigned_at, "
                "assigned_by, ended_at, end_reason) VALUES (:i, :u, :s, 't', :e, :r)"
            ),
            {"i": incident_id, "u": unit_id, "s": start, "e": end, "r": "cleared" if end else None},
        )
