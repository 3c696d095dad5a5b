"""A long-lived database connection that one task uses at a time, reopened after an error.

The bridge's writer and the screen pops' lookups keep their own, so that the hot path never waits
for a connection from the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class HeldConnection:
    """One long-lived connection used by one task at a time; reopened after an error."""

    def __init__(self, engine: AsyncEngine, autocommit: bool = False) -> None:
        self.engine = engine
        self.autocommit = autocommit
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def use(self) -> AsyncIterator[AsyncConnection]:
        async with self._lock:
            if self._conn is None or self._conn.closed:
                conn = await self.engine.connect()
                if self.autocommit:
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                self._conn = conn
            try:
                yield self._conn
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._conn.close()
                self._conn = None
                raise

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    await self._conn.close()
                self._conn = None
