"""The breadcrumbs' upkeep: daily partitions made ahead, and retention, at start and then every
``every_s`` (an hour by default: partitions are made days ahead, so a missed run harms nothing).

Retention drops whole partitions older than ``retention_days``; positions of units while they
worked an incident are first copied to ``incident_tracks`` and kept with the incident.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.avl import partitions, store
from dispatch.avl.partitions import Partition
from dispatch.avl.store import Retained

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upkeep:
    """What one run did."""

    made: list[Partition]
    retained: Retained


class PositionMaintenance:
    """Makes partitions ahead and applies retention; built once by the bootstrap."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], datetime],
        *,
        ahead_days: int,
        retention_days: float,
        every_s: float,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.ahead_days = ahead_days
        self.retention_days = retention_days
        self.every_s = every_s
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> Upkeep:
        now = self.clock()
        made = await store.make_ahead(self.engine, now, self.ahead_days)
        retained = await store.apply_retention(
            self.engine, partitions.cutoff(now, self.retention_days)
        )
        return Upkeep(made, retained)

    async def start(self) -> None:
        """Run once now (so today's partition exists before the first fix), then on a timer."""
        try:
            await self.run_once()
        except Exception:  # the default partition takes every fix meanwhile
            log.warning("position partitions not maintained at start", exc_info=True)
        self._task = asyncio.create_task(self._loop(), name="position maintenance")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.run_once()
            except Exception:
                log.warning("position partitions not maintained; next try later", exc_info=True)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
