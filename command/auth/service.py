"""Token checks with idle expiry, users and device tokens (signing in: command.auth.signin)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import request_audit
from command.auth import revocations
from command.auth.governance import check_device_roles, check_user_roles
from command.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    new_token,
    token_digest,
)
from command.auth.roles import Role, parse_roles
from command.errors import Conflict, InvalidInput, NotFound, Unauthorized
from command.incidents.domain import CommandLevel
from command.tables import tokens, users

log = logging.getLogger(__name__)

# Refresh a token's last-seen time at most this often, so reads do not all become writes.
_TOUCH_EVERY = timedelta(seconds=15)


@dataclass(frozen=True)
class Policy:
    idle: timedelta
    lockout_failures: int
    lockout: timedelta
    #: how long a new device token is valid (``CAD_DEVICE_TOKEN_DAYS``)
    device_lifetime: timedelta


@dataclass(frozen=True)
class Principal:
    """Who is acting: a signed-in user or a device (a unit's terminal)."""

    kind: str  # user | device
    name: str
    roles: frozenset[Role]
    token_id: int
    user_id: int | None = None
    #: city | district | department; None is the centre's top level (city)
    command_level: str | None = None
    #: the one step this session may take (command.auth.signin), None for a full session
    limited_to: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"

    def has_any(self, roles: frozenset[Role]) -> bool:
        return bool(self.roles & roles)


@dataclass(frozen=True)
class Session:
    token: str
    principal: Principal


async def create_user(
    conn: AsyncConnection,
    username: str,
    password: str,
    roles: str | list[str],
    display_name: str | None = None,
    language: str = "zh-CN",
    command_level: str | None = None,
    password_hash: str | None = None,
) -> int:
    """Add a user; ``command_level`` (city, district, department) is where they direct
    incidents, None meaning the centre's top level. ``password_hash`` is the password's hash
    when the caller made it off the event loop (``command.auth.hashing``)."""
    username = username.strip()
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise InvalidInput(
            "a username is 1 to 64 printable characters without spaces",
            code="user.name_invalid",
            min=1,
            max=64,
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
            code="user.password_short",
            min=MIN_PASSWORD_LENGTH,
        )
    if language not in ("zh-CN", "en"):
        raise InvalidInput(
            "language must be zh-CN or en", code="user.language_unknown", known=["zh-CN", "en"]
        )
    parsed = parse_roles(roles)
    check_user_roles(parsed)
    level = None if command_level is None else CommandLevel.parse(command_level).label
    try:
        async with conn.begin_nested():
            new_id = (
                await conn.execute(
                    users.insert()
                    .values(
                        username=username,
                        display_name=display_name or username,
                        password_hash=password_hash or hash_password(password),
                        roles=sorted(r.value for r in parsed),
                        language=language,
                        command_level=level,
                    )
                    .returning(users.c.id)
                )
            ).scalar_one()
    except IntegrityError as exc:
        raise Conflict(
            f"user {username} already exists", code="user.exists", username=username
        ) from exc
    return int(new_id)


async def set_disabled(conn: AsyncConnection, username: str, disabled: bool) -> list[int]:
    """Disable (ending the user's sessions) or enable a user; the ids of the ended tokens."""
    result = await conn.execute(
        update(users)
        .where(users.c.username == username)
        .values(disabled=disabled)
        .returning(users.c.id)
    )
    user_id = result.scalar_one_or_none()
    if user_id is None:
        raise NotFound(f"no user named {username}", code="user.unknown", username=username)
    if not disabled:
        return []
    ended = await conn.execute(
        update(tokens)
        .where(tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(tokens.c.id)
    )
    return [int(i) for i in ended.scalars()]


async def create_device_token(
    conn: AsyncConnection,
    device: str,
    roles: str | list[str] = "field_unit",
    *,
    valid_for: timedelta,
) -> str:
    """A token for a unit's terminal or an intake device: device roles only (no idle expiry;
    it ends ``valid_for`` from now, or when revoked)."""
    device = device.strip()
    if not device or len(device) > 64:
        raise InvalidInput(
            "a device name is 1 to 64 characters", code="device.name_invalid", min=1, max=64
        )
    parsed = parse_roles(roles)
    check_device_roles(parsed)
    token = new_token()
    await conn.execute(
        tokens.insert().values(
            token_hash=token_digest(token),
            kind="device",
            device=device,
            roles=sorted(r.value for r in parsed),
            expires_at=func.now() + valid_for,
        )
    )
    return token


async def authenticate(engine: AsyncEngine, policy: Policy, token: str, now: datetime) -> Principal:
    """The principal behind a bearer token, or Unauthorized (unknown, revoked, idle too long)."""
    if not token or len(token) > 200:
        raise Unauthorized("a valid token is needed: sign in first", code="auth.token_needed")
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(
                    tokens.c.id,
                    tokens.c.kind,
                    tokens.c.device,
                    tokens.c.roles,
                    tokens.c.last_seen_at,
                    tokens.c.revoked_at,
                    tokens.c.expires_at,
                    tokens.c.user_id,
                    users.c.username,
                    users.c.disabled,
                    users.c.command_level,
                    tokens.c.limited_to,
                )
                .select_from(tokens.outerjoin(users, users.c.id == tokens.c.user_id))
                .where(tokens.c.token_hash == token_digest(token))
            )
        ).first()
        if row is None or row.revoked_at is not None or row.disabled:
            raise Unauthorized("this token is not valid: sign in again", code="auth.token_invalid")
        if row.expires_at is not None and row.expires_at <= now:
            raise Unauthorized(
                f"this device token expired at {row.expires_at:%Y-%m-%d %H:%M} UTC: "
                "an admin issues a new one (`cad device add`)",
                code="auth.token_expired",
                expired_at=row.expires_at.isoformat(),
            )
        if row.kind == "session" and now - row.last_seen_at > policy.idle:
            await conn.execute(update(tokens).where(tokens.c.id == row.id).values(revoked_at=now))
            expired = True
        else:
            expired = False
            if now - row.last_seen_at > _TOUCH_EVERY:
                await conn.execute(
                    update(tokens).where(tokens.c.id == row.id).values(last_seen_at=now)
                )
    if expired:
        raise Unauthorized(
            "the session expired after inactivity: sign in again", code="auth.session_expired"
        )
    roles = frozenset(Role(r) for r in row.roles)
    if row.kind == "device":
        return Principal(kind="device", name=row.device, roles=roles, token_id=row.id)
    return Principal(
        kind="user",
        name=row.username,
        roles=roles,
        token_id=row.id,
        user_id=row.user_id,
        command_level=row.command_level,
        limited_to=row.limited_to,
    )


async def logout(engine: AsyncEngine, principal: Principal) -> None:
    async with request_audit.transaction(engine) as conn:
        await conn.execute(
            update(tokens).where(tokens.c.id == principal.token_id).values(revoked_at=func.now())
        )
        await revocations.announce(conn, [principal.token_id], "logout")
