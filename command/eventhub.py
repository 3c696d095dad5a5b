"""Fan-out of committed events to subscribers in this process, in sequence order.

Every process LISTENs on the event channel; a notification (or a periodic poll, should one be
lost while the listener reconnects) makes the hub read the log from where it last was and hand
each new event to every subscriber. A subscriber that cannot keep up is told so and re-reads from
the log: nothing is dropped, nothing is applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from command import events
from command.events import Event

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
    """Reads committed events in order and hands them to subscribers."""

    def __init__(
        self, engine: AsyncEngine, queue_size: int = 10_000, poll_interval: float = 2.0
    ) -> None:
        self._engine = engine
        self._queue_size = queue_size
        self._poll_interval = poll_interval
        self._subscribers: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._last = 0
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._closing = False
        self.listening = False

    @property
    def last_seq(self) -> int:
        return self._last

    async def start(self) -> None:
        async with self._engine.connect() as conn:
            self._last = await events.last_seq(conn)
        await self._listen()
        self._task = asyncio.create_task(self._run(), name="event-hub")

    async def stop(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task:
            self._task.cancel()
            # Bounded: a cancellation lost in a race must not hang the shutdown.
            await asyncio.wait({self._task}, timeout=5)
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

    def poke(self) -> None:
        """Read the log now (used after local commits; notifications do the same)."""
        self._wake.set()

    async def _listen(self) -> None:
        dsn = self._engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self._listener = await asyncpg.connect(dsn, timeout=10)
            await self._listener.add_listener(events.CHANNEL, self._on_notify)
            self._listener.add_termination_listener(self._on_lost)
            self.listening = True
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("event listener not connected (%s); polling until it is", exc)
            self.listening = False

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    def _on_lost(self, *_args: object) -> None:
        self.listening = False
        self._wake.set()

    async def _run(self) -> None:
        while not self._closing:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives as the event is set, and the hub would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    await self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            try:
                if not self.listening:
                    await self._listen()
                await self._dispatch_new()
            except Exception:
                log.exception("event hub could not read the log; retrying")
                await asyncio.sleep(self._poll_interval)

    async def _dispatch_new(self) -> None:
        while True:
            async with self._engine.connect() as conn:
                batch = await events.read_after(conn, self._last, limit=1000)
            for event in batch:
                for sub in tuple(self._subscribers):
                    sub.offer(event)
                self._last = event.seq
            if len(batch) < 1000:
                return

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
