"""Ending a principal's open websockets when its token ends, in every ``cad serve`` process.

A change that ends tokens (a user disabled, a device token revoked, a sign-out) or changes
their roles calls ``announce`` in its own transaction: a PostgreSQL notification on
``CHANNEL`` naming the token ids and why, delivered to every listening process when (and only
if) the change commits. The command line, which runs no listener, reaches the servers the same
way. Each server's ``RevocationListener`` hands the notification to its ``OpenSockets``, which
closes the sockets opened with those tokens, with the close code and reason of ``ENDINGS``.

A notification sent while a listener was reconnecting is not replayed: on reconnecting, and
every ``recheck_interval``, the listener asks the database which of the open sockets' tokens
have ended (revoked, user disabled, expired) and closes those too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg
from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command.db_hosts import asyncpg_dsn
from command.pg_listen import LISTEN_FAILURES, listen
from command.tables import tokens, users

log = logging.getLogger(__name__)

CHANNEL = "cad_revocations"
#: PostgreSQL's payload limit is 8000 bytes; token ids beyond a chunk go in further notifications
_IDS_PER_NOTIFICATION = 500


@dataclass(frozen=True)
class Ending:
    """How a socket is closed when its token ends for this reason."""

    code: int
    reason: str


Why = Literal["disabled", "revoked", "logout", "expired", "roles"]

#: the reasons a token's sockets are closed; the close codes are those of docs/security.md
ENDINGS: dict[str, Ending] = {
    "disabled": Ending(4401, "the account was disabled"),
    "revoked": Ending(4401, "the device token was revoked"),
    "logout": Ending(4401, "signed out"),
    "expired": Ending(4401, "the token expired or ended: sign in again"),
    "roles": Ending(4409, "your roles changed: reconnect"),
}


async def announce(conn: AsyncConnection, token_ids: Iterable[int], why: Why) -> None:
    """Tell every server, when this transaction commits, to close the sockets of ``token_ids``."""
    ids = sorted(set(token_ids))
    for start in range(0, len(ids), _IDS_PER_NOTIFICATION):
        payload = json.dumps({"t": ids[start : start + _IDS_PER_NOTIFICATION], "w": why})
        await conn.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
        )


def decode(payload: str) -> tuple[list[int], str]:
    """The token ids and the reason of one notification (ValueError if it is not one of ours)."""
    data = json.loads(payload)
    why = data["w"]
    ids = data["t"]
    if why not in ENDINGS or not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise ValueError("not a revocation")
    return ids, why


Closer = Callable[[int, str], Awaitable[None]]


class OpenSockets:
    """This process's open websockets, by the id of the token each was opened with."""

    def __init__(self) -> None:
        self._by_token: dict[int, dict[int, Closer]] = {}
        self._next = 0

    def add(self, token_id: int, close: Closer) -> Callable[[], None]:
        """Remember a socket; returns the function that forgets it (when it has closed)."""
        self._next += 1
        key = self._next
        self._by_token.setdefault(token_id, {})[key] = close

        def forget() -> None:
            held = self._by_token.get(token_id)
            if held is not None:
                held.pop(key, None)
                if not held:
                    del self._by_token[token_id]

        return forget

    @property
    def token_ids(self) -> list[int]:
        return list(self._by_token)

    def __len__(self) -> int:
        return sum(len(held) for held in self._by_token.values())

    async def end(self, token_ids: Iterable[int], why: str) -> int:
        """Close every socket of ``token_ids`` as ``ENDINGS[why]`` says; how many were open."""
        ending = ENDINGS[why]
        closers = [c for t in set(token_ids) for c in self._by_token.pop(t, {}).values()]
        results = await asyncio.gather(
            *(close(ending.code, ending.reason) for close in closers), return_exceptions=True
        )
        for result in results:
            if isinstance(result, Exception):
                log.warning("a socket could not be closed cleanly: %s", result)
        if closers:
            log.info("closed %d socket(s): %s", len(closers), ending.reason)
        return len(closers)


async def ended_tokens(conn: AsyncConnection, token_ids: list[int], now: datetime) -> list[int]:
    """Those of ``token_ids`` that no longer let anyone in: revoked, expired, user disabled."""
    if not token_ids:
        return []
    rows = await conn.execute(
        select(tokens.c.id)
        .select_from(tokens.outerjoin(users, users.c.id == tokens.c.user_id))
        .where(
            tokens.c.id.in_(token_ids),
            or_(
                tokens.c.revoked_at.is_not(None),
                tokens.c.expires_at <= now,
                users.c.disabled.is_(True),
            ),
        )
    )
    found = set(rows.scalars())
    # A token deleted with its user (ON DELETE CASCADE) has ended too.
    present = set(
        (await conn.execute(select(tokens.c.id).where(tokens.c.id.in_(token_ids)))).scalars()
    )
    return sorted(found | (set(token_ids) - present))


class RevocationListener:
    """Listens on ``CHANNEL`` on a connection of its own and closes the named sockets."""

    def __init__(
        self,
        engine: AsyncEngine,
        sockets: OpenSockets,
        clock: Callable[[], datetime],
        *,
        recheck_interval: float = 30.0,
        reconnect_interval: float = 2.0,
    ) -> None:
        self._engine = engine
        self.sockets = sockets
        self._clock = clock
        self._recheck_interval = recheck_interval
        self._reconnect_interval = reconnect_interval
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._pending: set[asyncio.Task[int]] = set()
        self.listening = False

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.create_task(self._run(), name="revocation listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=5)
        for task in tuple(self._pending):
            task.cancel()
        conn, self._conn = self._conn, None
        self.listening = False
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), 2.0)
            except (TimeoutError, OSError, asyncpg.PostgresError):
                conn.terminate()

    async def _connect(self) -> bool:
        dsn = asyncpg_dsn(self._engine.url)
        try:
            conn = await listen(dsn, CHANNEL, self._on_notify, self._on_lost)
        except LISTEN_FAILURES as exc:
            log.warning("revocation listener not connected (%s); retrying", exc)
            return False
        self._conn = conn
        self.listening = True
        return True

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            ids, why = decode(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("a revocation notification that is not ours was ignored")
            return
        task = asyncio.create_task(self.sockets.end(ids, why))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _on_lost(self, *_args: object) -> None:
        self.listening = False
        self._conn = None
        self._wake.set()

    async def recheck(self) -> int:
        """Close the open sockets whose tokens ended without this process hearing of it."""
        held = self.sockets.token_ids
        if not held:
            return 0
        async with self._engine.connect() as conn:
            ended = await ended_tokens(conn, held, self._clock())
        return await self.sockets.end(ended, "expired")

    async def _run(self) -> None:
        next_check = time.monotonic() + self._recheck_interval
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._reconnect_interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                if not self.listening and await self._connect():
                    next_check = 0.0  # what was missed while down
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self._recheck_interval
                    await self.recheck()
            except Exception:
                log.exception("revocation recheck failed; trying again")
