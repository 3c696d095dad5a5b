"""The breadcrumbs' upkeep, at start and then every ``every_s`` (an hour by default:
partitions are made days ahead, so a missed run harms nothing):

- daily partitions made ahead;
- retention: whole partitions older than ``retention_days`` dropped; positions of units while
  they worked an incident are first copied to ``incident_tracks`` and kept with the incident;
- compaction: a day over for ``compact_after_hours`` is rewritten once in (unit, device time)
  order (``dispatch.avl.store.compact``), so that one unit's playback reads a few pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.avl import partitions, store
from dispatch.avl.partitions import Partition
from dispatch.avl.store import Compacted, Retained

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upkeep:
    """What one run did."""

    made: list[Partition]
    retained: Retained
    compacted: list[Compacted]


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
        compact_after_hours: float = 6.0,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.ahead_days = ahead_days
        self.retention_days = retention_days
        self.every_s = every_s
        self.compact_after = timedelta(hours=compact_after_hours)
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> Upkeep:
        now = self.clock()
        made = await store.make_ahead(self.engine, now, self.ahead_days)
        retained = await store.apply_retention(
            self.engine, partitions.cutoff(now, self.retention_days)
        )
        compacted = await store.compact(self.engine, now - self.compact_after)
        return Upkeep(made, retained, compacted)

    async def start(self) -> None:
        """Make today's partitions now, before the first fix; the rest (retention, compaction,
        which can take long after a pause) runs in the background, at once and then on a timer."""
        try:
            await store.make_ahead(self.engine, self.clock(), self.ahead_days)
        except Exception:  # the default partition takes every fix meanwhile
            log.warning("position partitions not made at start", exc_info=True)
        self._task = asyncio.create_task(self._loop(), name="position maintenance")

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.warning("position partitions not maintained; next try later", exc_info=True)
            await asyncio.sleep(self.every_s)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
