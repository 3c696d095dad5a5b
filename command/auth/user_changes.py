"""Disabling, enabling and changing the roles of users under the rules of
``command.auth.governance``, serialised in the database.

Every such change first takes one transaction-level advisory lock, so that they run one at a
time across all processes; the count of active admins it then reads (READ COMMITTED: a fresh
snapshot per statement) includes every change committed before it. Two admins disabling each
other at once: the second waits, then finds itself the last active admin and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import any_, func, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from command.auth import governance, service
from command.auth.governance import Account
from command.auth.roles import Role
from command.errors import NotFound
from command.tables import tokens, users

#: the advisory lock that serialises changes to who is an active admin ("cadgov" in ASCII)
_LOCK_KEY = 0x636164676F76


@dataclass(frozen=True)
class RolesChanged:
    before: list[str]
    after: list[str]
    #: the user's live sessions, which now carry ``after``
    token_ids: list[int]


async def _serialise(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


async def _account(conn: AsyncConnection, username: str) -> Account:
    row = (
        await conn.execute(
            select(users.c.username, users.c.roles, users.c.disabled)
            .where(users.c.username == username)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound(f"no user named {username}", code="user.unknown", username=username)
    return Account(row.username, frozenset(Role(r) for r in row.roles), row.disabled)


async def _active_admins(conn: AsyncConnection) -> int:
    count = await conn.scalar(
        select(func.count())
        .select_from(users)
        .where(literal(Role.ADMIN.value) == any_(users.c.roles), users.c.disabled.is_(False))
    )
    return int(count or 0)


async def set_disabled(
    conn: AsyncConnection, username: str, disabled: bool, actor: str | None
) -> list[int]:
    """Disable or enable ``username`` as ``actor`` (a username, None for the OS command line);
    the ids of the sessions that ended."""
    await _serialise(conn)
    target = await _account(conn, username)
    if disabled:
        governance.check_disable(actor, target, await _active_admins(conn))
    return await service.set_disabled(conn, username, disabled)


async def set_roles(
    conn: AsyncConnection, username: str, roles: frozenset[Role], actor: str | None
) -> RolesChanged:
    """Give ``username`` exactly ``roles``; its live sessions carry them from now on."""
    await _serialise(conn)
    target = await _account(conn, username)
    governance.check_roles(actor, target, roles, await _active_admins(conn))
    after = sorted(r.value for r in roles)
    user_id = await conn.scalar(
        update(users).where(users.c.username == username).values(roles=after).returning(users.c.id)
    )
    sessions = await conn.execute(
        update(tokens)
        .where(tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None))
        .values(roles=after)
        .returning(tokens.c.id)
    )
    return RolesChanged(sorted(r.value for r in target.roles), after, list(sessions.scalars()))
