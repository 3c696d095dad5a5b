"""One use case, one transaction: its connection, its time and actor, and the events it emits.

Changes are checked before anything is written, rows are versioned (a concurrent change raises
``Conflict``), and the events are appended last, just before commit, with the audit row the
request owes (``command.request_audit``): a refused request changes nothing, and every change
that commits is in the log with its events and its audit row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import events, request_audit
from command.events import NewEvent


@dataclass
class Work:
    """What a use case holds while its transaction is open."""

    conn: AsyncConnection
    now: datetime
    actor: str
    events: list[NewEvent] = field(default_factory=list)

    def emit(self, *new: NewEvent) -> None:
        self.events.extend(new)


class UnitOfWork:
    """Opens the transactions of the use cases over one database."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    @asynccontextmanager
    async def begin(self, actor: str) -> AsyncIterator[Work]:
        """A transaction that commits with its events and the request's audit row, or rolls
        back whole on an error."""
        async with self.engine.begin() as conn:
            work = Work(conn, self.clock(), actor)
            yield work
            written = await request_audit.write(conn)
            await events.append(conn, work.events)
        request_audit.committed(written)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reading (no transaction is kept open beyond the statements)."""
        async with self.engine.connect() as conn:
            yield conn
