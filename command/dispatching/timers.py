"""Status timer alerts as events: a unit past its status limit (for example dispatched and not
acknowledged within 60 s) gets one ``unit.timer_overdue`` event per status it is stuck in, so
every console sees the alert live and a reconnecting console finds it in the log.

``raise_overdue`` checks once (several ``cad serve`` processes take turns through an advisory
lock, and an alert already in the log is not raised again); ``run`` checks every few seconds
until stopped. The clock is the container's, so tests can move it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command import events
from command.events import NewEvent
from dispatch import store as dispatch_store
from dispatch.timers import StatusLimits, overdue

log = logging.getLogger(__name__)

_LOCK_KEY = 0x0CAD7153  # one checker at a time across processes
ACTOR = "system:timers"


async def raise_overdue(engine: AsyncEngine, limits: StatusLimits, now: datetime) -> list[int]:
    """Append an event for every unit newly past its limit; their sequence numbers."""
    async with engine.begin() as conn:
        if not await conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _LOCK_KEY}):
            return []
        alerts = overdue(await dispatch_store.list_units(conn), now, limits)
        if not alerts:
            return []
        rows = await conn.execute(
            text(
                "SELECT subject_id, data->>'code' AS code, data->>'since' AS since FROM events "
                "WHERE subject_type = 'unit' AND type = 'unit.timer_overdue' "
                "AND subject_id = ANY(:ids) AND at >= :oldest"
            ),
            {"ids": [a.unit_id for a in alerts], "oldest": min(a.since for a in alerts)},
        )
        raised = {(r.subject_id, r.code, r.since) for r in rows}
        new = [
            NewEvent(
                "unit.timer_overdue",
                "unit",
                a.unit_id,
                {
                    "code": a.code,
                    "status": a.status.value,
                    "since": a.since.isoformat(),
                    "limit_s": a.limit_s,
                    "elapsed_s": round(a.elapsed_s, 1),
                    "incident_id": a.incident_id,
                },
                ACTOR,
            )
            for a in alerts
            if (a.unit_id, a.code, a.since.isoformat()) not in raised
        ]
        return await events.append(conn, new)


async def run(
    engine: AsyncEngine,
    limits: StatusLimits,
    clock: Callable[[], datetime],
    every_s: float,
    stop: asyncio.Event,
) -> None:
    """Check every ``every_s`` seconds until ``stop`` is set; a failed check is logged."""
    while not stop.is_set():
        try:
            await raise_overdue(engine, limits, clock())
        except Exception:
            log.exception("status timer check failed; trying again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


def start(
    engine: AsyncEngine,
    limits: StatusLimits,
    clock: Callable[[], datetime],
    every_s: float = 5.0,
) -> Callable[[], Awaitable[None]]:
    """Start the checker; returns the coroutine function that stops it."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(engine, limits, clock, every_s, stop), name="status-timers")

    async def halt() -> None:
        stop.set()
        await task

    return halt
