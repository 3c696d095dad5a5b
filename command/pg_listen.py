"""A connection of our own that LISTENs on a PostgreSQL channel: the event hub, the token
revocations and the position relay each hold one, opened and refused the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

#: What opening a listener may fail with while the database is away or not yet promoted
#: (``TargetServerAttributeNotMatched``: no server of a multi-host URL is the primary).
LISTEN_FAILURES: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.TargetServerAttributeNotMatched,
)


async def listen(
    dsn: str,
    channel: str,
    on_notify: Callable[..., Any],
    on_lost: Callable[..., Any],
) -> asyncpg.Connection:
    """A new connection listening on ``channel``; ``on_lost`` is called when it ends."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.add_listener(channel, on_notify)
    except BaseException:
        conn.terminate()  # not left open without its listener
        raise
    conn.add_termination_listener(on_lost)
    return conn
