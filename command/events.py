"""The event log: append-only rows written in the caller's transaction without any lock, and
numbered with the global sequence after commit, in commit order.

Writing. ``append`` inserts the events with an identity ``id`` (the order of writing) and no
sequence number. It takes no lock, so a slow transaction delays no one, and it sends no NOTIFY:
PostgreSQL commits transactions that notified one at a time, under one database-wide lock,
which would make every writer queue behind every other again. Append last, just before commit,
after every row the change writes; the argument below needs it.

Numbering. ``sequence`` gives the committed rows that have no number yet the next numbers, in
``id`` order, a batch per transaction, one batch at a time across all processes (a
transaction-scoped advisory lock per batch: a process that finds another one numbering reads
what that one assigns; no process holds a lasting leadership). Each batch notifies every
process's hub. Consoles read and resume by ``seq`` only.

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

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from command.tables import events

CHANNEL = "cad_events"  # payload: the highest sequence number a batch assigned
WRITTEN = "cad_events_written"  # connection info key: events were appended on this connection
BATCH = 1000
_LOCK_KEY = 0x0CADE7E5  # the numbering turn, one batch at a time across processes
# A sequencer stuck inside its transaction must not hold the turn for ever.
_IDLE_TIMEOUT = "10s"

_TURN = text(
    "SELECT set_config('idle_in_transaction_session_timeout', :idle, true), "
    "pg_try_advisory_xact_lock(:key) AS ok"
)
_WAIT_TURN = text(
    "SELECT set_config('idle_in_transaction_session_timeout', :idle, true), "
    "pg_advisory_xact_lock(:key)"
)
_NUMBER = text(
    """
    WITH top AS (SELECT coalesce(max(seq), 0) AS s FROM events),
    pending AS (
        SELECT id, row_number() OVER (ORDER BY id) AS n
        FROM (SELECT id FROM events WHERE seq IS NULL ORDER BY id LIMIT :batch) AS p
    ),
    assigned AS (
        UPDATE events e SET seq = top.s + pending.n
        FROM top, pending WHERE e.id = pending.id
        RETURNING e.seq
    ),
    summary AS (SELECT count(*) AS n, max(seq) AS last FROM assigned)
    SELECT n, CASE WHEN n > 0 THEN pg_notify(:channel, last::text) END FROM summary
    """
)
_POSITION = text(
    "SELECT (SELECT coalesce(max(seq), 0) FROM events) AS top, "
    "EXISTS (SELECT FROM events WHERE seq IS NULL) AS waiting"
)


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


@dataclass(frozen=True)
class Position:
    """How far numbering has come: the highest number, and whether committed events wait."""

    top: int
    waiting: bool


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


async def sequence_batch(conn: AsyncConnection, *, wait: bool) -> int | None:
    """Number up to ``BATCH`` committed events in the caller's transaction (commit it next).

    Returns how many, or None when another sequencer has the turn and ``wait`` is false.
    """
    if wait:
        await conn.execute(_WAIT_TURN, {"idle": _IDLE_TIMEOUT, "key": _LOCK_KEY})
    elif not (await conn.execute(_TURN, {"idle": _IDLE_TIMEOUT, "key": _LOCK_KEY})).one().ok:
        return None
    numbered = (await conn.execute(_NUMBER, {"batch": BATCH, "channel": CHANNEL})).one()
    return int(numbered.n)


async def sequence(conn: AsyncConnection, *, wait: bool = True) -> bool:
    """Number every event committed so far, one transaction per batch on ``conn``, which must
    not be in a transaction. False when another sequencer had the turn (only without ``wait``).
    """
    while True:
        async with conn.begin():
            n = await sequence_batch(conn, wait=wait)
        if n is None:
            return False
        if n < BATCH:
            return True


async def position(conn: AsyncConnection) -> Position:
    row = (await conn.execute(_POSITION)).one()
    return Position(top=int(row.top), waiting=bool(row.waiting))


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
    return [
        Event(
            seq=r.seq,
            at=r.at,
            type=r.type,
            subject_type=r.subject_type,
            subject_id=r.subject_id,
            actor=r.actor,
            data=r.data,
        )
        for r in rows
    ]

