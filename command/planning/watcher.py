"""Plans matched again when an incident changes: a subscriber to the committed events that
re-runs the match for the incident each one is about (narrative, calls, level, merge), and
tells the plan library when a version's approval changed (here or in another process), so
that matching reads nothing to know its index is fresh; a plan approved or retired is matched
against every open incident.

Matching is idempotent (the kept match is compared under the incident's row lock), so an event
seen twice, or by several processes, tells the consoles once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from command.eventhub import EventHub
from command.planning.matching import IncidentPlans

log = logging.getLogger(__name__)

#: incident events that change what plans match on
TRIGGERS = frozenset(
    {
        "incident.created",
        "incident.narrative_added",
        "incident.call_linked",
        "incident.response_level_changed",
        "incident.priority_changed",
        "incident.merged",
        "incident.reopened",
    }
)


#: plan events after which every open incident is matched again
LIBRARY_CHANGES = frozenset({"plan.version_approved", "plan.version_retired"})


async def _rematch_open(plans: IncidentPlans) -> None:
    for incident_id in await plans.open_incidents():
        try:
            await plans.rematch(incident_id)
        except Exception:
            log.exception("matching plans for incident %s failed", incident_id)


def start(hub: EventHub, plans: IncidentPlans) -> Callable[[], Awaitable[None]]:
    """Follow the log from now on; returns the coroutine that stops it."""

    async def run() -> None:
        plans.library.follow(True)
        async for event in hub.stream(hub.last_seq):
            if event.type.startswith("plan.version_"):
                plans.library.changed()  # approved here or in another process
                if event.type in LIBRARY_CHANGES:
                    await _rematch_open(plans)
                continue
            if event.type not in TRIGGERS or event.subject_type != "incident":
                continue
            try:
                await plans.rematch(int(event.subject_id))
            except Exception:
                log.exception("matching plans for incident %s failed", event.subject_id)

    task = asyncio.create_task(run(), name="plan-matching")

    async def halt() -> None:
        plans.library.follow(False)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return halt
