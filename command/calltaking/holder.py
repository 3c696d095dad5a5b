"""One AMI bridge per cluster: the process holding a PostgreSQL advisory lock runs it.

The lock is taken on a connection of its own and held as long as that connection lives, so a
holder that dies (killed, crashed, cut off) lets it go at once and a standby takes it within
``interval`` seconds, then starts its bridge (which resyncs from Asterisk). A holder whose lock
connection breaks keeps its bridge running while it tries to take the lock again (a database
restart must not stop the bridge: call events are held meanwhile); when another process has
taken the lock by then, it stops its bridge and stands by.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

LOCK_KEY = 0x0CAD_A511  # pg_try_advisory_lock key of the AMI bridge
Hook = Callable[[], Awaitable[None]]


class Holder:
    """Runs ``on_elected`` when this process takes the lock, ``on_deposed`` when it lost it
    to another process. ``role`` is ``holder``, ``standby`` or ``starting``."""

    def __init__(self, engine: AsyncEngine, on_elected: Hook, on_deposed: Hook,
                 clock: Callable[[], datetime], interval: float = 1.0) -> None:
        self.engine = engine
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.clock = clock
        self.interval = interval
        self.role = "starting"
        self.since = clock()
        self._conn: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="bridge-holder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    def _become(self, role: str) -> None:
        if role != self.role:
            log.info("AMI bridge: this process is now %s", role)
            self.role = role
            self.since = self.clock()

    async def _try(self) -> bool | None:
        """True: we hold the lock; False: another process does; None: no database."""
        try:
            if self._conn is None or self._conn.closed:
                await self._drop()
                conn = await self.engine.connect()
                self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                got = (await self._conn.execute(
                    sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY})).scalar()
                if not got:
                    await self._drop()
                return bool(got)
            await self._conn.execute(sa.text("SELECT 1"))  # still holding: the link lives
            return True
        except Exception as exc:  # the database is away: nothing is known
            log.debug("bridge lock: %s", exc)
            await self._drop()
            return None

    async def _run(self) -> None:
        while True:
            held = await self._try()
            if held is True and self.role != "holder":
                self._become("holder")
                await self.on_elected()
            elif held is False and self.role == "holder":
                self._become("standby")
                await self.on_deposed()
            elif held is False:
                self._become("standby")
            # a holder checks its link more often than a standby asks for the lock
            await asyncio.sleep(self.interval / 4 if self.role == "holder" else self.interval)
