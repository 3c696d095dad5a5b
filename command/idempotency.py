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

Keys are kept for ``keep`` (a day by default) and then pruned.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from command.errors import Conflict, InvalidInput
from command.tables import idempotency_keys

log = logging.getLogger(__name__)

KEY = re.compile(r"[\x21-\x7e]{1,200}")


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

    async def claim(self, actor: str, key: str, print_: str) -> Claim:
        now = self.clock()
        await self._prune(now)
        async with self.engine.begin() as conn:
            claimed = await conn.execute(
                insert(idempotency_keys)
                .values(actor=actor, key=key, fingerprint=print_, created_at=now)
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
