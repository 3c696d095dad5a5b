"""The single-process defaults behind the tracking ports: the latest position per unit in the
units table, and a relay to subscribers in this process.

``LatestPositionWriter`` keeps only each unit's newest position by device time (in
``dispatch_units.fix``), in one UPDATE per batch with an asynchronous commit; flagged jumps
never move it. It keeps no breadcrumbs. ``LocalRelay`` hands accepted fixes to the subscribers
of this process; it does not cross processes. A partitioned breadcrumb store and a
cross-process relay replace them behind the same ports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch import store as dispatch_store
from dispatch.avl.fixes import Fix

log = logging.getLogger(__name__)

Listener = Callable[[Sequence[Fix]], None]


class LatestPositionWriter:
    """Each unit's newest good position in the units table, one statement per batch."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def write(self, fixes: Sequence[Fix]) -> None:
        latest = [(f.unit_id, f.lon, f.lat, f.device_time) for f in fixes if not f.jump]
        if not latest:
            return
        async with self.engine.begin() as conn:
            # Positions may commit asynchronously (ARCHITECTURE.md): a lost fraction of a
            # second of latest positions is overtaken by the next ones.
            await conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
            await dispatch_store.set_fixes(conn, latest)


class LocalRelay:
    """Accepted fixes to this process's listeners (each called at once, without waiting)."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every published batch; returns the unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    async def publish(self, fixes: Sequence[Fix]) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(fixes)
            except Exception:
                log.exception("a position listener failed; the others still get the batch")
