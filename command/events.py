"""The event log: append-only rows written in the caller's transaction without any lock, and
numbered with the global sequence after commit, in commit order.

Writing. ``append`` inserts the events with an identity ``id`` (the order of writing) and no
sequence number. It takes no lock, so a slow transaction delays no one, and it sends no NOTIFY:
PostgreSQL commits transactions that notified one at a time, under one database-wide lock,
which would make every writer queue behind every other again. Append last, just before commit,
after every row the change writes; the argument below needs it.

Numbering. ``number`` gives the committed rows that have no number yet the next numbers, in
``id`` order, a batch per call, one batch at a time across all processes: the database function
``cad_number_events`` takes a transaction-scoped advisory lock (a process that finds the turn
taken numbers nothing and reads what the other one assigns; no process holds a lasting
leadership), numbers, and notifies every process's hub, in one statement. Consoles read and
resume by ``seq`` only.

Commit order. Let T1 and T2 change the same row, T1 committing first. T2 can write that row only
once T1 has ended (it waits on T1's row lock, or comes after it), and it appends after that
write, so T2 takes its ids after T1 committed, long after T1 took its own; the identity hands out
one value at a time (cache 1) in the order they are asked for, so every id of T2 is above every
id of T1. A snapshot that shows T2 committed shows T1 committed too (T1 leaves the running
transactions before it releases its locks). So the batch that numbers T2 finds T1 either
numbered by an earlier batch, with lower numbers, or in the same batch with lower ids. Two
transactions that touched nothing in common may come in either order. (Transaction ids would
not do: a transaction can take its xid early, with ``SELECT ... FOR UPDATE``, and change the
row second. Delivering only below the oldest running transaction's xid would not either: a
transaction can hold a smaller position and a larger xid than one already committed.)

Nothing missed, nothing twice. A batch numbers on from the highest number assigned, which it
reads after taking the lock, so after the previous batch committed; numbers are assigned once
(the table's trigger refuses every other change), without gaps, and become visible in
increasing order. A reader that has seen N has seen everything up to N, and everything it has
not seen is numbered above N. A transaction still open when a batch runs is not in it: the
events committed meanwhile are numbered and delivered at once, and the open transaction's
events get the next numbers when it commits, after everything that committed before it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from command.tables import events

CHANNEL = "cad_events"  # payload: the highest sequence number a batch assigned
WRITTEN = "cad_events_written"  # connection info key: events were appended on this connection
BATCH = 1000

_NUMBER = text("SELECT * FROM cad_number_events(:batch, :wait)").columns(*events.columns)


@dataclass(frozen=True)
class NewEvent:
    """A state change about to be recorded."""

    type: str
    subject_type: str
    subject_id: str
    data: Mapping[str, Any] = field(default_factory=dict)
    actor: str | None = None


@dataclass(frozen=True)
class Event:
    """A recorded event."""

    seq: int
    at: datetime
    type: str
    subject_type: str
    subject_id: str
    actor: str | None
    data: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "type": self.type,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "actor": self.actor,
            "data": dict(self.data),
        }


async def append(conn: AsyncConnection, new: Sequence[NewEvent]) -> list[int]:
    """Write events in the caller's transaction; returns their ids, in the order written.

    Their sequence numbers, the order consoles see, are assigned after commit.
    """
    if not new:
        return []
    result = await conn.execute(
        events.insert().returning(events.c.id),
        [
            {
                "type": e.type,
                "subject_type": e.subject_type,
                "subject_id": e.subject_id,
                "actor": e.actor,
                "data": json.loads(json.dumps(dict(e.data), default=str)),
            }
            for e in new
        ],
    )
    # The hub of this process numbers them as soon as the connection returns to the pool.
    conn.info[WRITTEN] = True
    return sorted(result.scalars().all())


async def number(conn: AsyncConnection, *, wait: bool) -> list[Event]:
    """Number up to ``BATCH`` committed events; returns them in order.

    One statement: on a connection in autocommit mode, one transaction and one round trip.
    Without ``wait`` it numbers nothing when another process has the turn.
    """
    rows = await conn.execute(_NUMBER, {"batch": BATCH, "wait": wait})
    return sorted((_event(r) for r in rows), key=lambda e: e.seq)


async def sequence(conn: AsyncConnection) -> None:
    """Number every event committed so far, on ``conn``, which must not be in a transaction;
    waits for a sequencer that has the turn."""
    while True:
        async with conn.begin():
            numbered = await number(conn, wait=True)
        if len(numbered) < BATCH:
            return


async def read_after(conn: AsyncConnection, after: int, limit: int = 500) -> list[Event]:
    """Committed events numbered above ``after``, in order.

    On a connection outside a transaction it first numbers what has committed (waiting for a
    sequencer that has the turn), so a reader finds its own committed writes; inside a
    transaction it reads what is numbered.
    """
    if not conn.in_transaction():
        await sequence(conn)
    return await read_sequenced(conn, after, limit)


async def read_sequenced(conn: AsyncConnection, after: int, limit: int = 500) -> list[Event]:
    """Events already numbered above ``after``, in order (numbers nothing)."""
    rows = await conn.execute(
        select(events).where(events.c.seq > after).order_by(events.c.seq).limit(limit)
    )
    return [_event(r) for r in rows]


async def last_seq(conn: AsyncConnection) -> int:
    value = (await conn.execute(text("SELECT coalesce(max(seq), 0) FROM events"))).scalar_one()
    return int(value)


def _event(r: Row[Any]) -> Event:
    return Event(
        seq=r.seq,
        at=r.at,
        type=r.type,
        subject_type=r.subject_type,
        subject_id=r.subject_id,
        actor=r.actor,
        data=r.data,
    )
