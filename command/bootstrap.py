"""The one place that wires the parts together: settings -> engine -> hub -> parts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.auth.service import Policy
from command.db import database_url, make_engine
from command.eventhub import EventHub
from command.incidents import timers as incident_timers
from command.incidents.config import load_config
from command.settings import Settings
from command.telephony_service import TelephonyService, start_telephony
from gis.routing import RoadGraphs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartHealth:
    status: str  # ok | degraded
    detail: str = ""


HealthCheck = Callable[[], Awaitable[PartHealth]]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    """Everything a request handler may need, built once at start-up."""

    settings: Settings
    engine: AsyncEngine
    hub: EventHub
    policy: Policy
    clock: Callable[[], datetime] = utcnow
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    telephony: TelephonyService | None = None
    roads: RoadGraphs = field(default_factory=RoadGraphs)
    """Drive times and routes: each region's road graph, read once per import."""

    async def health(self) -> dict[str, PartHealth]:
        async def run(check: HealthCheck) -> PartHealth:
            try:
                return await asyncio.wait_for(check(), 3.0)
            except Exception as exc:
                return PartHealth("degraded", f"{type(exc).__name__}: {exc}")

        names = list(self.health_checks)
        results = await asyncio.gather(*(run(self.health_checks[n]) for n in names))
        return dict(zip(names, results, strict=True))


def policy_from(settings: Settings) -> Policy:
    return Policy(
        idle=timedelta(minutes=settings.session_idle_minutes),
        lockout_failures=settings.lockout_failures,
        lockout=timedelta(minutes=settings.lockout_minutes),
    )


def _report_warming(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("road graphs not read ahead: %s", task.exception())


async def start(settings: Settings, url: str | None = None) -> Container:
    engine = make_engine(url or database_url(settings), settings)
    hub = EventHub(engine, queue_size=settings.event_queue_size)
    await hub.start()
    container = Container(
        settings=settings, engine=engine, hub=hub, policy=policy_from(settings), roads=RoadGraphs()
    )

    async def database() -> PartHealth:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return PartHealth("ok")

    async def event_stream() -> PartHealth:
        if hub.listening:
            return PartHealth("ok", f"at sequence {hub.last_seq}")
        return PartHealth("degraded", "not listening for notifications; polling the log")

    container.health_checks["database"] = database
    container.health_checks["events"] = event_stream
    await start_telephony(container)
    # Road graphs read in the background, so the first incident of a region need not wait.
    warming = asyncio.create_task(container.roads.warm(engine))
    warming.add_done_callback(_report_warming)

    async def stop_warming() -> None:
        warming.cancel()
        await asyncio.gather(warming, return_exceptions=True)

    container.on_stop.append(stop_warming)
    # Units too long in a status (not acknowledged, ...) become alert events.
    limits = load_config(settings.incidents_config).status_limits
    container.on_stop.append(incident_timers.start(engine, limits, lambda: container.clock()))
    return container


async def stop(container: Container) -> None:
    for hook in reversed(container.on_stop):
        try:
            await hook()
        except Exception:
            log.exception("error while stopping a part")
    await container.hub.stop()
    await container.engine.dispose()
