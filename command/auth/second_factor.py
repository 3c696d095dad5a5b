"""The second factor in PostgreSQL: TOTP enrolment, the check at sign-in, recovery codes.

The TOTP secret is stored as it is (``users.totp_secret``): the server must compute the
expected code, so it cannot be a hash. Recovery codes are random (80 bits), so their SHA-256 is
enough to store; each works once. The codes themselves are ``command.auth.totp``'s.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from command.auth import totp
from command.errors import Conflict, InvalidInput
from command.tables import totp_recovery_codes as rc
from command.tables import users

RECOVERY_CODES = 10
ISSUER = "CAD"


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str


def _normal(code: str) -> str:
    return code.replace("-", "").replace(" ", "").strip().upper()


def _digest(code: str) -> str:
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def _recovery_code() -> str:
    text = base64.b32encode(secrets.token_bytes(10)).decode()  # 16 characters, 80 bits
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


async def begin(conn: AsyncConnection, user_id: int, username: str) -> Enrolment:
    """A new secret for the user, in force once confirmed; refused when one is in force."""
    confirmed = await conn.scalar(select(users.c.totp_confirmed_at).where(users.c.id == user_id))
    if confirmed is not None:
        raise Conflict(
            "a second factor is already set up for this account", code="auth.totp_enrolled"
        )
    secret = totp.new_secret()
    await conn.execute(update(users).where(users.c.id == user_id).values(totp_secret=secret))
    return Enrolment(secret, totp.otpauth_uri(secret, username, ISSUER))


async def confirm(conn: AsyncConnection, user_id: int, code: str, now: datetime) -> list[str]:
    """Put the begun enrolment in force with its first code; the new recovery codes."""
    row = (
        await conn.execute(
            select(users.c.totp_secret, users.c.totp_confirmed_at).where(users.c.id == user_id)
        )
    ).one()
    if row.totp_confirmed_at is not None:
        raise Conflict(
            "a second factor is already set up for this account", code="auth.totp_enrolled"
        )
    if row.totp_secret is None:
        raise Conflict(
            "start the enrolment first (POST /api/v1/auth/totp/enrol)",
            code="auth.totp_not_begun",
        )
    step = totp.matching_step(row.totp_secret, code, now, None)
    if step is None:
        raise InvalidInput(
            "that code does not match: check the device's clock and type the current code",
            code="auth.totp_confirm_wrong",
        )
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(totp_confirmed_at=now, totp_last_step=step)
    )
    return await _new_recovery_codes(conn, user_id)


async def _new_recovery_codes(conn: AsyncConnection, user_id: int) -> list[str]:
    await conn.execute(delete(rc).where(rc.c.user_id == user_id))
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    await conn.execute(rc.insert(), [{"user_id": user_id, "code_hash": _digest(c)} for c in codes])
    return codes


async def enrolled(conn: AsyncConnection, username: str, secret: str, now: datetime) -> None:
    """Put ``secret`` in force for ``username`` at once (accounts set up by the demo and by
    benchmarks, whose secret is printed or held by the caller)."""
    await conn.execute(
        update(users)
        .where(users.c.username == username)
        .values(totp_secret=secret, totp_confirmed_at=now, totp_last_step=None)
    )


async def check(
    conn: AsyncConnection,
    user_id: int,
    secret: str,
    last_step: int | None,
    code: str | None,
    now: datetime,
) -> str | None:
    """None when ``code`` is a fresh TOTP code or an unused recovery code (then used up);
    otherwise the refusal's code: auth.totp_required, auth.totp_replayed, auth.totp_wrong."""
    if not code or not code.strip():
        return "auth.totp_required"
    code = code.strip()
    if code.isdigit():
        step = totp.matching_step(secret, code, now, last_step)
        if step is None:
            return (
                "auth.totp_replayed"
                if totp.was_used(secret, code, now, last_step)
                else "auth.totp_wrong"
            )
        # Conditional: two sign-ins racing with the same code cannot both take the step.
        taken = await conn.execute(
            update(users)
            .where(
                users.c.id == user_id,
                or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
        return None if taken.rowcount == 1 else "auth.totp_replayed"
    used = await conn.execute(
        update(rc)
        .where(rc.c.user_id == user_id, rc.c.code_hash == _digest(code), rc.c.used_at.is_(None))
        .values(used_at=now)
    )
    return None if used.rowcount == 1 else "auth.totp_wrong"
