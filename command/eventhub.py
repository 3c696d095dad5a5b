"""Fan-out of committed events to subscribers in this process, in sequence order; and the
numbering of committed events (see ``command.events``), which every process's hub takes turns at.

The hub numbers what has committed and reads the log from where it last was when this
process's code appended events (the connection's return to the pool tells it, after the
commit), when another process's hub has numbered a batch (its notification), and every
``sequence_interval`` (writers in processes without a hub, a notification lost while the
listener reconnects, or a batch that found the turn taken by a process that then numbered
nothing). It hands each new event to every subscriber. A subscriber that cannot keep up is told
so and re-reads from the log: nothing is dropped, nothing is applied twice. ``poll_interval``
paces reconnecting the listener and retrying after an error.

The hub numbers and reads on one held connection in autocommit mode: a batch is one round
trip, and it never waits for the pool while writers hold all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

import asyncpg
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry

from command import events
from command.db_hosts import asyncpg_dsn
from command.events import Event
from command.pg_listen import LISTEN_FAILURES, listen

log = logging.getLogger(__name__)


class Lagged(Exception):
    """The subscriber's queue overflowed; it must re-read from the log."""


class Subscription:
    """A bounded queue of events for one consumer."""

    def __init__(self, maxsize: int) -> None:
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.lagged = False

    def offer(self, event: Event) -> None:
        if self.lagged:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.lagged = True

    async def get(self) -> Event:
        if self.lagged:
            self._drain()
            raise Lagged
        return await self._queue.get()

    def _drain(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
        self.lagged = False


class EventHub:
    """Numbers committed events, reads them in order and hands them to subscribers."""

    def __init__(
        self,
        engine: AsyncEngine,
        queue_size: int = 10_000,
        poll_interval: float = 2.0,
        sequence_interval: float = 0.05,
    ) -> None:
        self._engine = engine
        self._queue_size = queue_size
        self._poll_interval = poll_interval
        self._sequence_interval = sequence_interval
        self._subscribers: set[Subscription] = set()
        self._watchers: list[Callable[[Event], None]] = []
        self._wake = asyncio.Event()
        self._last = 0
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: AsyncConnection | None = None
        self._next_listen = 0.0
        self._closing = False
        self.listening = False

    @property
    def last_seq(self) -> int:
        return self._last

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        async with self._engine.connect() as conn:
            self._last = await events.last_seq(conn)
        sa_event.listen(self._engine.sync_engine, "checkin", self._on_checkin)
        await self._listen()
        self._task = asyncio.create_task(self._run(), name="event-hub")

    async def stop(self) -> None:
        self._closing = True
        self._wake.set()
        if sa_event.contains(self._engine.sync_engine, "checkin", self._on_checkin):
            sa_event.remove(self._engine.sync_engine, "checkin", self._on_checkin)
        if self._task:
            self._task.cancel()
            # Bounded: a cancellation lost in a race must not hang the shutdown.
            await asyncio.wait({self._task}, timeout=5)
        await self._drop_connection()
        if self._listener is not None and not self._listener.is_closed():
            try:
                await asyncio.wait_for(self._listener.close(), 2.0)
            except (TimeoutError, OSError, asyncpg.PostgresError):
                self._listener.terminate()

    def subscribe(self) -> Subscription:
        sub = Subscription(self._queue_size)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    def watch(self, watcher: Callable[[Event], None]) -> None:
        """Call ``watcher`` with each new event, in order, before any subscriber gets it (state
        that decides what subscribers may see, such as sensitivity markings)."""
        self._watchers.append(watcher)

    def poke(self) -> None:
        """Number and read the log now (after local commits; notifications do the same)."""
        self._wake.set()

    async def _listen(self) -> None:
        self._next_listen = time.monotonic() + self._poll_interval
        dsn = asyncpg_dsn(self._engine.url)
        try:
            self._listener = await listen(dsn, events.CHANNEL, self._on_notify, self._on_lost)
            self.listening = True
        except LISTEN_FAILURES as exc:
            log.warning("event listener not connected (%s); polling until it is", exc)
            self.listening = False

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    def _on_lost(self, *_args: object) -> None:
        self.listening = False
        self._wake.set()

    def _on_checkin(self, _dbapi_conn: object, record: ConnectionPoolEntry) -> None:
        # Called once the connection is back in the pool, so after its commit (or rollback).
        if not record.info.pop(events.WRITTEN, False) or self._loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        while not self._closing:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives as the event is set, and the hub would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._sequence_interval):
                    await self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            try:
                if not self.listening and time.monotonic() >= self._next_listen:
                    await self._listen()
                await self._catch_up()
            except Exception:
                log.exception("event hub could not number or read the log; retrying")
                await self._drop_connection()
                await asyncio.sleep(self._poll_interval)

    async def _catch_up(self) -> None:
        """Number what has committed and hand on everything new, in order."""
        conn = await self._connection()
        while True:
            numbered = await events.number(conn, wait=False)
            if numbered and numbered[0].seq == self._last + 1:
                self._offer(numbered)  # just numbered here: no need to read them back
            else:
                # Numbered elsewhere (or the turn was taken): read what is new.
                await self._read_new(conn)
            if len(numbered) < events.BATCH:
                return

    async def _read_new(self, conn: AsyncConnection) -> None:
        while True:
            batch = await events.read_sequenced(conn, self._last, limit=1000)
            self._offer(batch)
            if len(batch) < 1000:
                return

    def _offer(self, batch: list[Event]) -> None:
        for event in batch:
            for watcher in self._watchers:
                watcher(event)
            for sub in tuple(self._subscribers):
                sub.offer(event)
            self._last = event.seq

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self._engine.connect()
            self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def page(self, after: int, limit: int = 500) -> list[Event]:
        """Committed events after ``after``, at most ``limit``, in sequence order (the log read
        once, for a console that polls or resumes by HTTP)."""
        async with self._engine.connect() as conn:
            return await events.read_after(conn, after, limit)

    async def stream(self, after: int) -> AsyncIterator[Event]:
        """Every committed event after ``after``, exactly once and in order, then live ones."""
        sub = self.subscribe()
        last = after
        try:
            while True:
                # Catch up from the log; the subscription already buffers what arrives meanwhile.
                async with self._engine.connect() as conn:
                    batch = await events.read_after(conn, last)
                for event in batch:
                    yield event
                    last = event.seq
                if batch:
                    continue
                try:
                    while True:
                        event = await sub.get()
                        if event.seq > last:
                            yield event
                            last = event.seq
                except Lagged:
                    continue
        finally:
            self.unsubscribe(sub)
