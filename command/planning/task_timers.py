"""Plan tasks past their deadline become alerts: one ``plan.task_overdue`` event per task, as
the unit status timers do, so every console sees it live and a reconnecting console finds it
in the log. The task row remembers its alert, so it is raised once, by whichever process
checks first, and the incident's narrative says so. The clock is the container's, so tests can
move it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from command import events
from command.events import NewEvent
from command.incidents import store as incidents_store
from command.incidents.domain import system_entry
from plans import store as plans_store

log = logging.getLogger(__name__)

ACTOR = "system:plan-tasks"


async def raise_overdue(engine: AsyncEngine, now: datetime) -> list[int]:
    """An event for every task newly past its deadline; their sequence numbers."""
    async with engine.begin() as conn:
        late = await plans_store.mark_overdue(conn, now)
        for t in late:  # on the incident's timeline too, for the after-action review
            text = f"task {t.seq} overdue: {t.names.get('en', '')} ({t.department})"
            entry = system_entry(
                text,
                ACTOR,
                now,
                code="narrative.plan_task_overdue",
                params={"seq": t.seq, "names": dict(t.names), "department": t.department},
            )
            await incidents_store.add_narrative(conn, t.incident_id, entry)
        return await events.append(
            conn,
            [
                NewEvent(
                    "plan.task_overdue",
                    "incident",
                    str(t.incident_id),
                    {
                        "task": t.id,
                        "seq": t.seq,
                        "names": t.names,
                        "role": t.role,
                        "department": t.department,
                        "due_at": t.due_at.isoformat(),
                        "over_s": round((now - t.due_at).total_seconds(), 1),
                    },
                    ACTOR,
                )
                for t in late
            ],
        )


def start(
    engine: AsyncEngine, clock: Callable[[], datetime], every_s: float = 5.0
) -> Callable[[], Awaitable[None]]:
    """Check every ``every_s`` seconds until stopped; returns the coroutine that stops it."""
    stop = asyncio.Event()

    async def run() -> None:
        while not stop.is_set():
            try:
                await raise_overdue(engine, clock())
            except Exception:
                log.exception("plan task check failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)

    task = asyncio.create_task(run(), name="plan-task-timers")

    async def halt() -> None:
        stop.set()
        await task

    return halt
