"""Builders for test data: users (with their second factor where the role needs one), tokens,
sign-ins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from command.auth import second_factor, service, totp
from command.auth.roles import parse_roles
from command.settings import Settings
from command.tables import users
from tests.support.log_secrets import KNOWN

PASSWORD = "correct horse battery"
#: every test user's TOTP secret (base32), for the roles that sign in with one
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def needs_totp(roles: str) -> bool:
    required = parse_roles(Settings().totp_required_roles)
    return bool(parse_roles(roles) & required)


async def user(engine: AsyncEngine, username: str, roles: str, password: str = PASSWORD) -> int:
    """A user; one of a role that needs a second factor has ``TOTP_SECRET`` in force."""
    KNOWN.add(password)
    KNOWN.add(TOTP_SECRET)
    async with engine.begin() as conn:
        user_id = await service.create_user(conn, username, password, roles)
        if needs_totp(roles):
            await second_factor.enrolled(conn, username, TOTP_SECRET, datetime.now(UTC))
        return user_id


async def totp_code(engine: AsyncEngine, username: str, at: datetime | None = None) -> str:
    """A code the server takes now for ``username``: of the earliest step in the accepted
    window that is not used yet (so that a test may sign in again at once)."""
    at = at or datetime.now(UTC)
    async with engine.connect() as conn:
        last = await conn.scalar(select(users.c.totp_last_step).where(users.c.username == username))
    return totp.hotp(totp.key_of(TOTP_SECRET), totp_step(at, last))


#: How long a code chosen by ``totp_code`` stays accepted at least: a busy machine may take
#: seconds between choosing a code and the server checking it.
TOTP_MARGIN = timedelta(seconds=15)


def totp_step(at: datetime, last: int | None) -> int:
    """The earliest step after ``last`` accepted both at ``at`` and ``TOTP_MARGIN`` later; when
    the steps accepted now are used up but one, that one."""
    earliest = totp.step_at(at) - totp.DRIFT_STEPS
    unused = earliest if last is None else max(earliest, last + 1)
    lasting = max(unused, totp.step_at(at + TOTP_MARGIN) - totp.DRIFT_STEPS)
    return lasting if lasting <= totp.step_at(at) + totp.DRIFT_STEPS else unused


async def login_body(
    engine: AsyncEngine, username: str, roles: str, password: str = PASSWORD
) -> dict[str, str]:
    """The JSON of a sign-in by a builder's user (with a one-time code when the role needs it)."""
    body = {"username": username, "password": password}
    if needs_totp(roles):
        body["totp"] = await totp_code(engine, username)
    return body


async def device(
    engine: AsyncEngine,
    name: str,
    roles: str = "field_unit",
    valid_for: timedelta = timedelta(days=365),
) -> str:
    async with engine.begin() as conn:
        token = await service.create_device_token(conn, name, roles, valid_for=valid_for)
    KNOWN.add(token)
    return token


async def signed_in(
    http: httpx.AsyncClient, engine: AsyncEngine, username: str, roles: str
) -> dict[str, str]:
    """Create the user, sign in over HTTP, return the Authorization header."""
    await user(engine, username, roles)
    response = await http.post("/api/v1/auth/login", json=await login_body(engine, username, roles))
    response.raise_for_status()
    KNOWN.add(response.json()["token"])
    return {"Authorization": f"Bearer {response.json()['token']}"}
