"""``cad user add|list|disable|enable|roles|unlock|password`` and
``cad device add|tokens|revoke|bind|unbind|list``.

A ``field_unit`` account (a user or a device) acts for the unit it is named after, by the unit's
id or callsign: naming a unit that does not exist is refused and changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
from datetime import datetime

from command import bootstrap
from command.auth.roles import parse_roles
from command.origin import Origin
from command.settings import Settings

CLI_SOURCE = "cli"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = sub.add_parser("user", help="people who sign in")
    actions = user.add_subparsers(dest="user_action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user (password from CAD_NEW_PASSWORD or a prompt)")
    add.add_argument("username", help="for a field_unit: the unit's id, e.g. FS1-E1")
    add.add_argument("--roles", required=True, help="comma list: call_taker,dispatcher,...")
    add.add_argument("--name", help="display name")
    add.add_argument("--language", default="zh-CN", choices=["zh-CN", "en"])
    add.add_argument(
        "--level",
        choices=["city", "district", "department"],
        help="command level the user directs at (default: the top level, city)",
    )
    add.set_defaults(handler=add_user)
    lst = actions.add_parser("list", help="list users")
    lst.set_defaults(handler=list_users)
    for name, flag in (("disable", True), ("enable", False)):
        p = actions.add_parser(name, help=f"{name} a user (disabling also ends their sessions)")
        p.add_argument("username")
        p.set_defaults(handler=set_disabled, disabled=flag)
    roles = actions.add_parser(
        "roles", help="give a user exactly these roles (its open sessions take them at once)"
    )
    roles.add_argument("username")
    roles.add_argument("--roles", required=True, help="comma list: call_taker,dispatcher,...")
    roles.set_defaults(handler=set_roles)
    unlock = actions.add_parser(
        "unlock", help="clear a user's failed sign-ins from every address (audited)"
    )
    unlock.add_argument("username")
    unlock.set_defaults(handler=unlock_user)
    reset = actions.add_parser(
        "password",
        help="set a new password (CAD_NEW_PASSWORD or a prompt) to be changed at next sign-in",
    )
    reset.add_argument("username")
    reset.set_defaults(handler=reset_password)

    device = sub.add_parser("device", help="unit terminals and other devices")
    dev_actions = device.add_subparsers(dest="device_action", required=True, metavar="ACTION")
    dev_add = dev_actions.add_parser("add", help="issue a device token (printed once)")
    dev_add.add_argument("device", help="for a field_unit: the unit's id, e.g. FS1-E1")
    dev_add.add_argument("--roles", default="field_unit")
    dev_add.set_defaults(handler=add_device)
    dev_tokens = dev_actions.add_parser(
        "tokens", help="list device tokens (id, roles, created, expires, last seen, revoked)"
    )
    dev_tokens.set_defaults(handler=list_tokens)
    dev_revoke = dev_actions.add_parser(
        "revoke", help="revoke a device token by its id (closes its connections)"
    )
    dev_revoke.add_argument("token_id", type=int, help="the id `cad device tokens` shows")
    dev_revoke.set_defaults(handler=revoke_token)
    dev_bind = dev_actions.add_parser(
        "bind", help="bind a tracker's device id (OsmAnd, Traccar Client) to a unit"
    )
    dev_bind.add_argument("device_id", help="the id the tracker sends (id= or deviceid=)")
    dev_bind.add_argument("unit", help="the unit's id, e.g. FS1-E1")
    dev_bind.set_defaults(handler=bind_device)
    dev_unbind = dev_actions.add_parser("unbind", help="unbind a tracker's device id")
    dev_unbind.add_argument("device_id")
    dev_unbind.set_defaults(handler=unbind_device)
    dev_list = dev_actions.add_parser("list", help="list the trackers bound to units")
    dev_list.set_defaults(handler=list_bindings)


def _origin() -> Origin:
    return Origin(f"os:{os.environ.get('USER', 'unknown')}", CLI_SOURCE)


def _roles(text: str) -> list[str]:
    return sorted(r.value for r in parse_roles(text))


def add_user(args: argparse.Namespace, settings: Settings) -> int:
    roles = _roles(args.roles)
    password = os.environ.get("CAD_NEW_PASSWORD") or getpass.getpass(
        f"password for {args.username}: "
    )

    async def run() -> None:
        async with bootstrap.parts(settings) as parts:
            await parts.accounts.add_user(
                args.username, password, roles, args.name, args.language, args.level, _origin()
            )

    asyncio.run(run())
    print(f"added {args.username}")
    return 0


def list_users(_: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        async with bootstrap.parts(settings) as parts:
            found = await parts.accounts.users()
        print(f"{'username':<20} {'roles':<40} {'language':<8} {'level':<10} state")
        for u in found:
            state = "disabled" if u.disabled else "active"
            level = u.command_level or "city"
            print(f"{u.username:<20} {','.join(u.roles):<40} {u.language:<8} {level:<10} {state}")

    asyncio.run(run())
    return 0


def set_disabled(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        async with bootstrap.parts(settings) as parts:
            await parts.accounts.set_disabled(args.username, args.disabled, _origin())

    asyncio.run(run())
    print(f"{'disabled' if args.disabled else 'enabled'} {args.username}")
    return 0


def set_roles(args: argparse.Namespace, settings: Settings) -> int:
    roles = _roles(args.roles)

    async def run() -> list[str]:
        async with bootstrap.parts(settings) as parts:
            return await parts.accounts.set_roles(args.username, roles, _origin())

    print(f"{args.username} has the roles {','.join(asyncio.run(run()))}")
    return 0


def unlock_user(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        async with bootstrap.parts(settings) as parts:
            await parts.accounts.unlock(args.username, _origin())

    asyncio.run(run())
    print(f"unlocked {args.username}")
    return 0


def reset_password(args: argparse.Namespace, settings: Settings) -> int:
    password = os.environ.get("CAD_NEW_PASSWORD") or getpass.getpass(
        f"new password for {args.username}: "
    )

    async def run() -> None:
        async with bootstrap.parts(settings) as parts:
            await parts.accounts.reset_password(args.username, password, _origin())

    asyncio.run(run())
    print(f"password of {args.username} set; it must be changed at the next sign-in")
    return 0


def add_device(args: argparse.Namespace, settings: Settings) -> int:
    roles = _roles(args.roles)

    async def run() -> str:
        async with bootstrap.parts(settings) as parts:
            issued = await parts.accounts.add_device(args.device, roles, _origin())
            return issued.token

    print(asyncio.run(run()))
    return 0


def _when(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%Y-%m-%d %H:%M}"


def list_tokens(_: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        async with bootstrap.parts(settings) as parts:
            found = await parts.accounts.devices()
        print(
            f"{'id':>6} {'device':<20} {'roles':<12} {'created':<16} {'expires':<16} "
            f"{'last seen':<16} revoked"
        )
        for d in found:
            print(
                f"{d.id:>6} {d.device:<20} {','.join(d.roles):<12} {_when(d.created_at):<16} "
                f"{_when(d.expires_at):<16} {_when(d.last_seen_at):<16} {_when(d.revoked_at)}"
            )

    asyncio.run(run())
    return 0


def revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> str:
        async with bootstrap.parts(settings) as parts:
            revoked = await parts.accounts.revoke_device(args.token_id, _origin())
            return revoked.device

    print(f"revoked device token {args.token_id} ({asyncio.run(run())})")
    return 0


def bind_device(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        async with bootstrap.parts(settings) as parts:
            b = await parts.trackers.bind(args.device_id, args.unit, _origin())
        print(f"bound {b.device_id} to unit {b.unit_id}")

    asyncio.run(run())
    return 0


def unbind_device(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        async with bootstrap.parts(settings) as parts:
            b = await parts.trackers.unbind(args.device_id, _origin())
        print(f"unbound {b.device_id} (was unit {b.unit_id})")

    asyncio.run(run())
    return 0


def list_bindings(_: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        async with bootstrap.parts(settings) as parts:
            found = await parts.trackers.bindings()
        print(f"{'device id':<24} {'unit':<16} {'bound by':<20} bound at")
        for b in found:
            print(f"{b.device_id:<24} {b.unit_id:<16} {b.bound_by:<20} {b.bound_at.isoformat()}")

    asyncio.run(run())
    return 0
