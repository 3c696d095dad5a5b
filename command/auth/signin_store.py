"""The failed sign-in counters in PostgreSQL (``signin_failures``): read, counted, cleared.

The decisions are ``command.auth.throttle``'s; this module only keeps its counters, so that they
hold across restarts and across every process serving the same database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from command.auth.throttle import ANY_ACCOUNT, Counter, Limit, ThrottlePolicy, after_failure
from command.tables import signin_failures as sf


async def _counter(conn: AsyncConnection, account: str, source: str, lock: bool) -> Counter | None:
    query = select(sf.c.failures, sf.c.window_start, sf.c.locked_until).where(
        sf.c.account == account, sf.c.source == source
    )
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    return None if row is None else Counter(row.failures, row.window_start, row.locked_until)


async def counters(
    conn: AsyncConnection, account: str, source: str
) -> tuple[Counter | None, Counter | None]:
    """The address's counter and the (account, address) counter."""
    return (
        await _counter(conn, ANY_ACCOUNT, source, lock=False),
        await _counter(conn, account, source, lock=False),
    )


async def _count(
    conn: AsyncConnection, account: str, source: str, now: datetime, limit: Limit
) -> Counter:
    # The row first, then locked: concurrent failures of one key are counted one after another.
    await conn.execute(
        insert(sf)
        .values(account=account, source=source, failures=0, window_start=now)
        .on_conflict_do_nothing()
    )
    counter = after_failure(await _counter(conn, account, source, lock=True), now, limit)
    await conn.execute(
        update(sf)
        .where(sf.c.account == account, sf.c.source == source)
        .values(
            failures=counter.failures,
            window_start=counter.window_start,
            locked_until=counter.locked_until,
        )
    )
    return counter


async def count_failure(
    conn: AsyncConnection, account: str, source: str, now: datetime, policy: ThrottlePolicy
) -> Counter:
    """Count one failure against the address and the (account, address); the latter returned."""
    await _count(conn, ANY_ACCOUNT, source, now, policy.per_source)
    return await _count(conn, account, source, now, policy.per_account_source)


async def forget_pair(conn: AsyncConnection, account: str, source: str) -> None:
    """A successful sign-in: its (account, address) starts afresh (the address's does not)."""
    await conn.execute(delete(sf).where(sf.c.account == account, sf.c.source == source))


async def unlock(conn: AsyncConnection, account: str) -> int:
    """Clear the account's counters from every address; how many addresses were locked."""
    rows = await conn.execute(
        delete(sf).where(sf.c.account == account).returning(sf.c.locked_until)
    )
    return sum(1 for r in rows if r.locked_until is not None)
