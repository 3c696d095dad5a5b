"""Signing in: throttled per address and per (account, address), the password checked off the
event loop, then the second factor; and the steps a session may be limited to.

The order matters. The counters are read first, so that an address or pair that must wait costs
no hash at all; no database connection is held while a password is hashed (a flood would
otherwise empty the pool that incident creation needs); the outcome (counters, audit row,
session) is written in one short transaction afterwards. Unknown, wrong and locked accounts take
the same path and give the same answers (``command.auth.throttle``).

A session may be limited to one step (``tokens.limited_to``): after an administrator's reset,
to changing the password; for a role that needs a second factor but has none yet, to enrolling
one. Such a session is refused everywhere else with the step's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import audit
from command.auth import second_factor, signin_store
from command.auth.hashing import Hasher
from command.auth.passwords import new_token, token_digest
from command.auth.roles import Role
from command.auth.service import Principal, Session
from command.auth.throttle import ThrottlePolicy, refusal
from command.errors import Forbidden, TooMany, Unauthorized
from command.tables import tokens, users

PASSWORD_CHANGE = "password_change"  # noqa: S105 (the name of a session limit)
TOTP_ENROLMENT = "totp_enrolment"


def limit_refusal(limit: str) -> Forbidden:
    """The refusal of a session limited to ``limit`` anywhere but that step; its code is the
    one the sign-in answer names in ``limited_to``."""
    if limit == PASSWORD_CHANGE:
        return Forbidden(
            "the password was reset: choose a new one before anything else",
            code="auth.password_change_required",
        )
    return Forbidden(
        "this role signs in with a second factor: set one up before anything else",
        code="auth.totp_enrolment_required",
    )


def _refused(failure: str) -> Unauthorized:
    if failure == "auth.account_disabled":
        return Unauthorized("this account is disabled", code="auth.account_disabled")
    if failure == "auth.totp_required":
        return Unauthorized(
            "this account signs in with a one-time code (or a recovery code)",
            code="auth.totp_required",
        )
    if failure == "auth.totp_wrong":
        return Unauthorized("the one-time code is wrong", code="auth.totp_wrong")
    if failure == "auth.totp_replayed":
        return Unauthorized(
            "this one-time code was used already: wait for the next one",
            code="auth.totp_replayed",
        )
    return Unauthorized("wrong username or password", code="auth.credentials_wrong")


@dataclass(frozen=True)
class SigninPolicy:
    throttle: ThrottlePolicy
    #: roles that must have a second factor
    totp_roles: frozenset[Role]


def limit_for(
    roles: frozenset[Role], must_change: bool, has_factor: bool, policy: SigninPolicy
) -> str | None:
    """The one step a new session is limited to, if any (a password change comes first)."""
    if must_change:
        return PASSWORD_CHANGE
    if roles & policy.totp_roles and not has_factor:
        return TOTP_ENROLMENT
    return None


def throttled(seconds: int) -> TooMany:
    return TooMany(
        f"too many failed sign-ins: try again in {seconds} s, or ask a supervisor to unlock",
        code="auth.throttled",
        retry_after_s=seconds,
    )


async def _session(
    conn: AsyncConnection, row: Row[Any], limited_to: str | None, now: datetime
) -> Session:
    token = new_token()
    token_id = (
        await conn.execute(
            tokens.insert()
            .values(
                token_hash=token_digest(token),
                kind="session",
                user_id=row.id,
                roles=row.roles,
                last_seen_at=now,
                limited_to=limited_to,
            )
            .returning(tokens.c.id)
        )
    ).scalar_one()
    return Session(
        token=token,
        principal=Principal(
            kind="user",
            name=row.username,
            roles=frozenset(Role(r) for r in row.roles),
            token_id=token_id,
            user_id=row.id,
            command_level=row.command_level,
            limited_to=limited_to,
        ),
    )


async def login(
    engine: AsyncEngine,
    hasher: Hasher,
    policy: SigninPolicy,
    username: str,
    password: str,
    second: str | None,
    source: str,
    now: datetime,
) -> Session:
    """A session for the right password (and second factor), or the refusal, committed with
    its counters and audit row before it is raised."""
    account = username[:64]
    async with engine.connect() as conn:
        source_counter, pair_counter = await signin_store.counters(conn, account, source)
        wait = refusal(source_counter, pair_counter, now)
        row = None
        if wait is None:
            row = (await conn.execute(select(users).where(users.c.username == account))).first()
    if wait is not None:
        raise throttled(wait.seconds)
    # No connection is held while the password is hashed.
    right = await hasher.verify(row.password_hash if row is not None else None, password)
    failure: str | None = None
    session: Session | None = None
    async with engine.begin() as conn:
        if row is None or not right:
            failure, result = (
                "auth.credentials_wrong",
                "failed: unknown user" if row is None else "failed: wrong password",
            )
        elif row.disabled:
            failure, result = "auth.account_disabled", "failed: disabled"
        else:
            if row.totp_confirmed_at is not None:
                failure = await second_factor.check(
                    conn, row.id, row.totp_secret, row.totp_last_step, second, now
                )
            if failure is not None:
                result = f"failed: second factor ({failure.removeprefix('auth.')})"
            else:
                limited = limit_for(
                    frozenset(Role(r) for r in row.roles),
                    row.must_change_password,
                    row.totp_confirmed_at is not None,
                    policy,
                )
                session = await _session(conn, row, limited, now)
                await signin_store.forget_pair(conn, account, source)
                result = "ok" if limited is None else f"ok: limited to {limited}"
        locked = None
        if failure is not None and failure != "auth.account_disabled":
            pair = await signin_store.count_failure(conn, account, source, now, policy.throttle)
            locked = pair.locked_until
            if locked is not None and locked > now:
                result += "; locked from this address"
        await audit.record(
            conn,
            actor=f"user:{account}",
            action="login",
            object_type="user",
            object_id=account,
            source=source,
            result=result,
        )
    if failure is not None:
        raise _refused(failure)
    assert session is not None
    return session


async def after_password_change(
    conn: AsyncConnection, principal: Principal, policy: SigninPolicy
) -> None:
    """The password changed: every other session of the user ends, and this one is limited at
    most to enrolling a second factor (when its roles need one and it has none)."""
    await conn.execute(
        update(tokens)
        .where(
            tokens.c.user_id == principal.user_id,
            tokens.c.id != principal.token_id,
            tokens.c.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
    )
    has_factor = await conn.scalar(
        select(users.c.totp_confirmed_at.is_not(None)).where(users.c.id == principal.user_id)
    )
    limited = limit_for(principal.roles, False, bool(has_factor), policy)
    await conn.execute(
        update(tokens).where(tokens.c.id == principal.token_id).values(limited_to=limited)
    )
