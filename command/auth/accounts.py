"""The account use cases: sign in and out, who is behind a token, users and device tokens,
and the audit chain's check; every change audited in its own transaction.

The rules (lockout, idle expiry, password and name checks) are in ``command.auth.service``;
this is what the routes and the command line call, built once by the bootstrap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import audit
from command.auth import devices as device_rows
from command.auth import revocations, service, user_changes
from command.auth.devices import DeviceToken
from command.auth.governance import actor_username
from command.auth.roles import Role, parse_roles
from command.auth.service import Policy, Principal, Session
from command.errors import NotFound
from command.origin import Origin
from command.tables import users
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

    def __init__(self, engine: AsyncEngine, policy: Policy, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.policy = policy
        self.clock = clock

    async def login(self, username: str, password: str, source: str) -> Session:
        return await service.login(
            self.engine, self.policy, username, password, source, self.clock()
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
            await audit.record(
                conn,
                actor=origin.actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                source=origin.source,
                result=result,
            )

    async def users(self) -> list[UserRow]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    users.c.username,
                    users.c.display_name,
                    users.c.roles,
                    users.c.disabled,
                    users.c.language,
                    users.c.locked_until,
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
        async with self.engine.begin() as conn:
            user_id = await service.create_user(
                conn, username, password, roles, display_name, language, command_level
            )
            await _check_unit_account(conn, username, roles)
            await audit.record(
                conn,
                actor=origin.actor,
                action="user.add",
                object_type="user",
                object_id=username,
                source=origin.source,
                result="ok",
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
            await audit.record(
                conn,
                actor=origin.actor,
                action="user.disable" if disabled else "user.enable",
                object_type="user",
                object_id=username,
                source=origin.source,
                result="ok",
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
            await audit.record(
                conn,
                actor=origin.actor,
                action="user.roles",
                object_type="user",
                object_id=username,
                source=origin.source,
                result="ok",
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
            await audit.record(
                conn,
                actor=origin.actor,
                action="device.add",
                object_type="device",
                object_id=device,
                source=origin.source,
                result="ok",
                detail={"token_id": issued.id, "roles": issued.roles},
            )
        return IssuedDevice(token, issued)

    async def devices(self) -> list[DeviceToken]:
        async with self.engine.connect() as conn:
            return await device_rows.listed(conn)

    async def revoke_device(self, token_id: int, origin: Origin) -> DeviceToken:
        """End a device token and close its sockets in every process."""
        async with self.engine.begin() as conn:
            revoked = await device_rows.revoke(conn, token_id)
            await revocations.announce(conn, [token_id], "revoked")
            await audit.record(
                conn,
                actor=origin.actor,
                action="device.revoke",
                object_type="device",
                object_id=revoked.device,
                source=origin.source,
                result="ok",
                detail={"token_id": token_id},
            )
        return revoked
