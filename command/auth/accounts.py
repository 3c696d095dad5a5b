"""The account use cases: sign in and out, who is behind a token, users and device tokens,
and the audit chain's check; every change audited in its own transaction.

The rules (lockout, idle expiry, password and name checks) are in ``command.auth.service``;
this is what the routes and the command line call, built once by the bootstrap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import audit
from command.auth import devices as device_rows
from command.auth import revocations, second_factor, service, signin, signin_store, user_changes
from command.auth.devices import DeviceToken
from command.auth.governance import actor_username
from command.auth.hashing import Hasher
from command.auth.password_policy import PasswordPolicy
from command.auth.roles import Role, parse_roles
from command.auth.second_factor import Enrolment
from command.auth.service import Policy, Principal, Session
from command.auth.signin import SigninPolicy
from command.auth.throttle import refusal
from command.errors import InvalidInput, NotFound
from command.origin import Origin
from command.tables import signin_failures, tokens, users
from dispatch import store as dispatch_store


@dataclass(frozen=True)
class UserRow:
    username: str
    display_name: str
    roles: list[str]
    disabled: bool
    language: str
    locked_until: datetime | None
    command_level: str | None


async def _check_unit_account(conn: AsyncConnection, name: str, roles: list[str]) -> None:
    """A field-unit account acts for the unit it is named after: that unit must exist."""
    if Role.FIELD_UNIT not in parse_roles(roles):
        return
    if await dispatch_store.unit_named(conn, name.strip()) is None:
        raise NotFound(
            f"there is no unit {name.strip()}: a field-unit account is named after its unit "
            "(id or callsign); `cad dispatch units` lists them",
            code="unit.unknown",
            unit_id=name.strip(),
        )


@dataclass(frozen=True)
class IssuedDevice:
    """A new device token (shown once) and its row."""

    token: str
    row: DeviceToken


class Accounts:
    """Users, sessions and device tokens over one database."""

    def __init__(
        self,
        engine: AsyncEngine,
        policy: Policy,
        clock: Callable[[], datetime],
        hasher: Hasher,
        passwords: PasswordPolicy,
        signin_policy: SigninPolicy,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.clock = clock
        self.hasher = hasher
        self.passwords = passwords
        self.signin_policy = signin_policy

    async def login(
        self, username: str, password: str, source: str, second: str | None = None
    ) -> Session:
        """A session; ``second`` is the one-time code or a recovery code (command.auth.signin)."""
        return await signin.login(
            self.engine,
            self.hasher,
            self.signin_policy,
            username,
            password,
            second,
            source,
            self.clock(),
        )

    async def authenticate(self, token: str) -> Principal:
        return await service.authenticate(self.engine, self.policy, token, self.clock())

    async def logout(self, principal: Principal) -> None:
        await service.logout(self.engine, principal)

    async def refuse(
        self, principal: Principal, what: str, source: str, needs: Sequence[str]
    ) -> None:
        """Record a refusal by role (who tried what, with which roles, needing which)."""
        async with self.engine.begin() as conn:
            await audit.record(
                conn,
                actor=principal.actor,
                action="access",
                object_type="route",
                object_id=what,
                source=source,
                result="denied",
                detail={"roles": sorted(principal.roles), "needs": sorted(needs)},
            )

    async def record_change(
        self, origin: Origin, action: str, object_type: str, object_id: str, result: str
    ) -> None:
        """The audit row of a change made over the API that its handler did not audit."""
        async with self.engine.begin() as conn:
            await _audited(conn, origin, action, object_type, object_id, result=result)

    async def users(self) -> list[UserRow]:
        """Every user; ``locked_until`` is the latest lock of the account from any address."""
        locked = (
            select(func.max(signin_failures.c.locked_until))
            .where(
                signin_failures.c.account == users.c.username,
                signin_failures.c.locked_until > self.clock(),
            )
            .scalar_subquery()
        )
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    users.c.username,
                    users.c.display_name,
                    users.c.roles,
                    users.c.disabled,
                    users.c.language,
                    locked.label("locked_until"),
                    users.c.command_level,
                ).order_by(users.c.username)
            )
            return [UserRow(**r._mapping) for r in rows]

    async def add_user(
        self,
        username: str,
        password: str,
        roles: list[str],
        display_name: str | None,
        language: str,
        command_level: str | None,
        origin: Origin,
    ) -> int:
        self.passwords.check(username, password)
        password_hash = await self.hasher.hash(password)
        async with self.engine.begin() as conn:
            user_id = await service.create_user(
                conn,
                username,
                password,
                roles,
                display_name,
                language,
                command_level,
                password_hash=password_hash,
            )
            await _check_unit_account(conn, username, roles)
            await _audited(
                conn,
                origin,
                "user.add",
                "user",
                username,
                detail={"roles": sorted(roles), "command_level": command_level},
            )
        return user_id

    async def set_disabled(self, username: str, disabled: bool, origin: Origin) -> None:
        """Disable (ending the user's sessions and closing their sockets) or enable a user;
        the governance rules hold (``command.auth.governance``)."""
        async with self.engine.begin() as conn:
            ended = await user_changes.set_disabled(
                conn, username, disabled, actor_username(origin.actor)
            )
            await revocations.announce(conn, ended, "disabled")
            await _audited(
                conn, origin, "user.disable" if disabled else "user.enable", "user", username
            )

    async def set_roles(self, username: str, roles: list[str], origin: Origin) -> list[str]:
        """Give a user exactly ``roles``; its sessions carry them at once and its sockets are
        closed (to reconnect under the new roles). The roles it now has."""
        async with self.engine.begin() as conn:
            changed = await user_changes.set_roles(
                conn, username, parse_roles(roles), actor_username(origin.actor)
            )
            await _check_unit_account(conn, username, changed.after)
            await revocations.announce(conn, changed.token_ids, "roles")
            await _audited(
                conn,
                origin,
                "user.roles",
                "user",
                username,
                detail={"before": changed.before, "after": changed.after},
            )
        return changed.after

    async def add_device(self, device: str, roles: list[str], origin: Origin) -> IssuedDevice:
        """A device token, returned once (only its digest is stored)."""
        async with self.engine.begin() as conn:
            token = await service.create_device_token(
                conn, device, roles, valid_for=self.policy.device_lifetime
            )
            await _check_unit_account(conn, device, roles)
            issued = await device_rows.issued(conn, token)
            await _audited(
                conn,
                origin,
                "device.add",
                "device",
                device,
                detail={"token_id": issued.id, "roles": issued.roles},
            )
        return IssuedDevice(token, issued)

    async def unlock(self, username: str, origin: Origin) -> None:
        """Clear the account's failed sign-ins from every address (a supervisor's unlock)."""
        async with self.engine.begin() as conn:
            await self._user_id(conn, username)
            addresses = await signin_store.unlock(conn, username)
            await _audited(
                conn,
                origin,
                "user.unlock",
                "user",
                username,
                detail={"locked_addresses": addresses},
            )

    async def change_password(
        self, principal: Principal, current: str, new: str, source: str
    ) -> None:
        """The user's own change: the current password first; their other sessions end."""
        if principal.user_id is None:
            raise InvalidInput("a device has no password", code="auth.not_a_user")
        async with self.engine.connect() as conn:
            # Guessing the current password with a stolen session waits like a sign-in.
            wait = refusal(*await signin_store.counters(conn, principal.name, source), self.clock())
            old_hash = await conn.scalar(
                select(users.c.password_hash).where(users.c.id == principal.user_id)
            )
        if wait is not None:
            raise signin.throttled(wait.seconds)
        if not await self.hasher.verify(old_hash, current):
            async with self.engine.begin() as conn:
                await signin_store.count_failure(
                    conn, principal.name, source, self.clock(), self.signin_policy.throttle
                )
                await _audited(
                    conn,
                    Origin(principal.actor, source),
                    "user.password_change",
                    "user",
                    principal.name,
                    result="failed: wrong password",
                )
            raise InvalidInput("the current password is wrong", code="auth.password_current_wrong")
        self.passwords.check(principal.name, new)
        new_hash = await self.hasher.hash(new)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(users)
                .where(users.c.id == principal.user_id)
                .values(password_hash=new_hash, must_change_password=False)
            )
            await signin.after_password_change(conn, principal, self.signin_policy)
            await _audited(
                conn,
                Origin(principal.actor, source),
                "user.password_change",
                "user",
                principal.name,
            )

    async def reset_password(self, username: str, new: str, origin: Origin) -> None:
        """An administrator's reset: the user must change it at the next sign-in; every
        session of the user ends."""
        self.passwords.check(username, new)
        new_hash = await self.hasher.hash(new)
        async with self.engine.begin() as conn:
            user_id = await self._user_id(conn, username)
            await conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(password_hash=new_hash, must_change_password=True)
            )
            await conn.execute(
                update(tokens)
                .where(tokens.c.user_id == user_id, tokens.c.revoked_at.is_(None))
                .values(revoked_at=func.now())
            )
            await _audited(conn, origin, "user.password_reset", "user", username)

    async def totp_begin(self, principal: Principal, source: str) -> Enrolment:
        """A new TOTP secret for the signed-in user, in force once confirmed."""
        user_id = self._own(principal)
        async with self.engine.begin() as conn:
            enrolment = await second_factor.begin(conn, user_id, principal.name)
            await _audited(
                conn, Origin(principal.actor, source), "user.totp_begin", "user", principal.name
            )
        return enrolment

    async def totp_confirm(self, principal: Principal, code: str, source: str) -> list[str]:
        """Confirm the enrolment with its first code; the one-time recovery codes, shown once.
        A session limited to enrolment becomes a full one."""
        user_id = self._own(principal)
        async with self.engine.begin() as conn:
            codes = await second_factor.confirm(conn, user_id, code, self.clock())
            if principal.limited_to == signin.TOTP_ENROLMENT:
                await conn.execute(
                    update(tokens).where(tokens.c.id == principal.token_id).values(limited_to=None)
                )
            await _audited(
                conn, Origin(principal.actor, source), "user.totp_enrol", "user", principal.name
            )
        return codes

    @staticmethod
    def _own(principal: Principal) -> int:
        if principal.user_id is None:
            raise InvalidInput(
                "a device's token is its factor: only people enrol one", code="auth.not_a_user"
            )
        return principal.user_id

    @staticmethod
    async def _user_id(conn: AsyncConnection, username: str) -> int:
        user_id = await conn.scalar(select(users.c.id).where(users.c.username == username))
        if user_id is None:
            raise NotFound(f"no user named {username}", code="user.unknown", username=username)
        return int(user_id)

    async def devices(self) -> list[DeviceToken]:
        async with self.engine.connect() as conn:
            return await device_rows.listed(conn)

    async def revoke_device(self, token_id: int, origin: Origin) -> DeviceToken:
        """End a device token and close its sockets in every process."""
        async with self.engine.begin() as conn:
            revoked = await device_rows.revoke(conn, token_id)
            await revocations.announce(conn, [token_id], "revoked")
            await _audited(
                conn,
                origin,
                "device.revoke",
                "device",
                revoked.device,
                detail={"token_id": token_id},
            )
        return revoked


async def _audited(
    conn: AsyncConnection,
    origin: Origin,
    action: str,
    object_type: str,
    object_id: str,
    *,
    result: str = "ok",
    detail: dict[str, Any] | None = None,
) -> None:
    """The audit row of an account change, in the change's transaction."""
    await audit.record(
        conn,
        actor=origin.actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        source=origin.source,
        result=result,
        detail=detail,
    )
