"""The rules that keep accounts and devices governable, as pure functions.

- the last active admin can be neither disabled nor demoted: someone must always be able to
  administer (and re-enable) the others;
- nobody disables themselves or takes their own admin role away (an admin locking itself out
  by mistake, or an attacker with a stolen admin session making the lock-out look innocent);
- a device token carries device roles only (``DEVICE_ROLES``): a stolen terminal or SMS gateway
  must not be an admin, a dispatcher or a call-taker;
- people do not hold device-only roles (``intake``).

The callers (``command.auth.governance_store``) serialise every change these rules judge, so
that two admins disabling each other at once cannot leave zero admins.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from command.auth.roles import DEVICE_ONLY_ROLES, DEVICE_ROLES, Role
from command.errors import Conflict, InvalidInput


@dataclass(frozen=True)
class Account:
    """A user as the rules see it."""

    username: str
    roles: frozenset[Role]
    disabled: bool

    @property
    def active_admin(self) -> bool:
        return not self.disabled and Role.ADMIN in self.roles


def check_disable(actor: str | None, target: Account, active_admins: int) -> None:
    """May ``actor`` (a username; None for the operating system's command line) disable
    ``target`` while ``active_admins`` admins are active (``target`` among them if it is one)?"""
    if actor == target.username:
        raise Conflict(
            "you cannot disable your own account; another admin can",
            code="user.disable_self",
            username=target.username,
        )
    if target.active_admin and active_admins <= 1:
        raise Conflict(
            f"{target.username} is the last active admin: enable or add another admin first",
            code="user.last_admin",
            username=target.username,
        )


def check_roles(
    actor: str | None, target: Account, roles: frozenset[Role], active_admins: int
) -> None:
    """May ``actor`` give ``target`` exactly ``roles``?"""
    check_user_roles(roles)
    losing_admin = Role.ADMIN in target.roles and Role.ADMIN not in roles
    if not losing_admin:
        return
    if actor == target.username:
        raise Conflict(
            "you cannot take away your own admin role; another admin can",
            code="user.demote_self",
            username=target.username,
        )
    if target.active_admin and active_admins <= 1:
        raise Conflict(
            f"{target.username} is the last active admin: it keeps the admin role until "
            "another admin is active",
            code="user.last_admin",
            username=target.username,
        )


def check_user_roles(roles: Collection[Role]) -> None:
    """A person's roles: no device-only role."""
    device_only = sorted(r.value for r in roles if r in DEVICE_ONLY_ROLES)
    if device_only:
        raise InvalidInput(
            f"{', '.join(device_only)} is a device's role, not a person's: issue a device "
            "token (`cad device add NAME --roles intake`)",
            code="user.role_device_only",
            roles=device_only,
        )


def check_device_roles(roles: Collection[Role]) -> None:
    """A device token's roles: device roles only."""
    other = sorted(r.value for r in roles if r not in DEVICE_ROLES)
    if other:
        allowed = sorted(r.value for r in DEVICE_ROLES)
        raise InvalidInput(
            f"a device token carries only the roles {', '.join(allowed)}; not "
            f"{', '.join(other)} (people sign in with their own account)",
            code="device.role_not_allowed",
            roles=other,
            allowed=allowed,
        )


def actor_username(actor: str) -> str | None:
    """The username behind an audit actor (``user:alice``), None for anyone else."""
    kind, _, name = actor.partition(":")
    return name if kind == "user" else None
