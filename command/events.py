"""The event log: append-only rows with a global sequence number, written in the caller's
transaction, and read back in sequence order.

Writers serialise on a transaction-scoped advisory lock just before inserting, so sequence
numbers become visible in commit order: a reader that has seen sequence N will never later find
a committed event below N. ``pg_notify`` in the same transaction wakes every process's hub at
commit. Append last, just before commit, to keep the lock short.
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

CHANNEL = "cad_events"
_LOCK_KEY = 0x0CADE7E5  # one global advisory lock key for event writers


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
    """Write events in the caller's transaction; returns their sequence numbers."""
    if not new:
        return []
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    result = await conn.execute(
        events.insert().returning(events.c.seq),
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
    seqs = sorted(result.scalars().all())
    await conn.execute(text("SELECT pg_notify(:ch, :seq)"), {"ch": CHANNEL, "seq": str(seqs[-1])})
    return seqs


async def read_after(conn: AsyncConnection, after: int, limit: int = 500) -> list[Event]:
    """Committed events with a sequence number above ``after``, in order."""
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


async def last_seq(conn: AsyncConnection) -> int:
    value = (await conn.execute(text("SELECT coalesce(max(seq), 0) FROM events"))).scalar_one()
    return int(value)
