"""Idempotency keys: a retried change answers as the first attempt did and changes nothing.

A client that sends ``Idempotency-Key: <its own unique value>`` with a state-changing request
may send it again after any failure (a time-out, a dropped link, a 503). The first attempt
claims the key for its actor; when it ends, its answer is kept with the key. A retry with the
same key then gets the kept answer (``Idempotent-Replayed: true``) and nothing is done again.

- The same key with another request (method, path, query or body) is refused: a client bug.
- A retry while the first attempt still runs is told so (409, try again shortly).
- An attempt that ended in a server error or 503 changed nothing (its transaction was rolled
  back): its claim is released, so the retry runs.
- A claim whose attempt never reported back (the process died) is, after ``running_limit``,
  answered with ``request.outcome_unknown``: the client must look before trying again, since
  the change may or may not have been committed. Never done twice.
- Every transaction a keyed request commits marks its claim ``done_at`` in that transaction:
  a claim without the mark changed nothing. A claim taken on a primary that has since been
  replaced (a failover: the promoted standby has a newer ``timeline``) is therefore decided at
  once: unmarked, the retry runs; marked, its answer was lost (``request.outcome_unknown``).
  And a failed attempt's claim is released only when unmarked, so a commit whose
  acknowledgement was lost is never run again.

Keys are kept for ``keep`` (a day by default) and then pruned.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, delete, event, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command.errors import Conflict, InvalidInput
from command.tables import idempotency_keys

log = logging.getLogger(__name__)

KEY = re.compile(r"[\x21-\x7e]{1,200}")

# The claim (actor, key) of the request being run: set by the middleware around the route and
# read when one of the request's transactions commits. Request-scoped state, not a cache.
CHANGING: ContextVar[tuple[str, str] | None] = ContextVar("idempotency_changing", default=None)

# The primary's current timeline (the first 8 hex digits of its WAL file name); a standby
# promoted after a failover starts a newer one. NULL on a standby (which then refuses the
# claim itself as read-only: database.not_primary).
TIMELINE = text(
    "SELECT CASE WHEN pg_is_in_recovery() THEN NULL"
    " ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END"
)


def _mark_done(conn: Connection) -> None:
    """Before a keyed request's transaction commits: its claim is marked done in it."""
    changing = CHANGING.get()
    if changing is None:
        return
    actor, key = changing
    conn.execute(
        update(idempotency_keys)
        .where(
            idempotency_keys.c.actor == actor,
            idempotency_keys.c.key == key,
            idempotency_keys.c.done_at.is_(None),
        )
        .values(done_at=func.now())
    )


class Outcome(StrEnum):
    NEW = "new"
    REPLAY = "replay"


@dataclass(frozen=True)
class Kept:
    """The first attempt's answer."""

    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    kept: Kept | None = None


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not KEY.fullmatch(key):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 200 visible ASCII characters",
            code="request.idempotency_key_invalid",
            max_length=200,
        )
    return key


class IdempotencyKeys:
    """The kept keys, in the database (so a retry reaching another process is answered too)."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], datetime],
        keep: timedelta = timedelta(hours=24),
        running_limit: timedelta = timedelta(seconds=60),
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.keep = keep
        self.running_limit = running_limit
        self._pruned_at: datetime | None = None
        event.listen(engine.sync_engine, "commit", _mark_done)

    async def claim(self, actor: str, key: str, print_: str) -> Claim:
        now = self.clock()
        await self._prune(now)
        async with self.engine.begin() as conn:
            timeline = await conn.scalar(TIMELINE)
            claimed = await conn.execute(
                insert(idempotency_keys)
                .values(
                    actor=actor, key=key, fingerprint=print_, created_at=now, timeline=timeline
                )
                .on_conflict_do_nothing()
                .returning(idempotency_keys.c.key)
            )
            if claimed.first() is not None:
                return Claim(Outcome.NEW)
            row = (
                await conn.execute(
                    select(idempotency_keys).where(
                        idempotency_keys.c.actor == actor, idempotency_keys.c.key == key
                    )
                )
            ).one()
            if row.fingerprint != print_:
                raise InvalidInput(
                    "this Idempotency-Key was used for another request",
                    code="request.idempotency_key_reused",
                    key=key,
                )
            if row.status is not None:
                return Claim(Outcome.REPLAY, Kept(row.status, bytes(row.body), row.content_type))
            replaced = None not in (row.timeline, timeline) and row.timeline < timeline
            if replaced and row.done_at is None and await self._take_over(conn, row, now, timeline):
                return Claim(Outcome.NEW)
        if replaced and row.done_at is not None:
            raise Conflict(
                "the first request with this Idempotency-Key was done on a database server "
                "since replaced, and its answer was lost: look before trying again with a new key",
                code="request.outcome_unknown",
                key=key,
            )
        if now - row.created_at < self.running_limit:
            raise Conflict(
                "the first request with this Idempotency-Key is still running: try again shortly",
                code="request.in_progress",
                key=key,
            )
        raise Conflict(
            "the first request with this Idempotency-Key never reported back: it may or may "
            "not have been done; look before trying again with a new key",
            code="request.outcome_unknown",
            key=key,
        )

    @staticmethod
    async def _take_over(
        conn: AsyncConnection, row: Row[Any], now: datetime, timeline: int
    ) -> bool:
        """Claim again a key whose first attempt ran on a server since replaced and changed
        nothing; False when a concurrent retry took it first."""
        taken = await conn.execute(
            update(idempotency_keys)
            .where(
                idempotency_keys.c.actor == row.actor,
                idempotency_keys.c.key == row.key,
                idempotency_keys.c.timeline == row.timeline,
                idempotency_keys.c.status.is_(None),
                idempotency_keys.c.done_at.is_(None),
            )
            .values(created_at=now, timeline=timeline)
            .returning(idempotency_keys.c.key)
        )
        if taken.first() is None:
            return False
        log.warning("key %s: its first attempt's server was replaced; running it again", row.key)
        return True

    async def keep_answer(self, actor: str, key: str, kept: Kept) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.actor == actor, idempotency_keys.c.key == key)
                .values(status=kept.status, body=kept.body, content_type=kept.content_type)
            )

    async def release(self, actor: str, key: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.actor == actor,
                    idempotency_keys.c.key == key,
                    idempotency_keys.c.status.is_(None),
                    # Marked: the attempt committed a change (its acknowledgement was lost).
                    idempotency_keys.c.done_at.is_(None),
                )
            )

    async def _prune(self, now: datetime) -> None:
        if self._pruned_at is not None and now - self._pruned_at < timedelta(minutes=10):
            return
        self._pruned_at = now
        async with self.engine.begin() as conn:
            gone = await conn.execute(
                delete(idempotency_keys).where(idempotency_keys.c.created_at < now - self.keep)
            )
        if gone.rowcount:
            log.info("pruned %d idempotency keys older than %s", gone.rowcount, self.keep)
