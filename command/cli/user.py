"""``cad user add|list|disable|enable`` and ``cad device add``.

A ``field_unit`` account (a user or a device) acts for the unit it is named after, by the unit's
id or callsign: naming a unit that does not exist is refused and changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os

from sqlalchemy import select

from command import audit
from command.auth import service
from command.auth.roles import Role, parse_roles
from command.cli.common import engine_for
from command.cli.dispatch import require_unit
from command.settings import Settings
from command.tables import users

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

    device = sub.add_parser("device", help="unit terminals and other devices")
    dev_actions = device.add_subparsers(dest="device_action", required=True, metavar="ACTION")
    dev_add = dev_actions.add_parser("add", help="issue a device token (printed once)")
    dev_add.add_argument("device", help="for a field_unit: the unit's id, e.g. FS1-E1")
    dev_add.add_argument("--roles", default="field_unit")
    dev_add.set_defaults(handler=add_device)


def _actor() -> str:
    return f"os:{os.environ.get('USER', 'unknown')}"


def _for_a_unit(roles: str) -> bool:
    """Called after the roles were accepted, so they parse."""
    return Role.FIELD_UNIT in parse_roles(roles)


def add_user(args: argparse.Namespace, settings: Settings) -> int:
    password = os.environ.get("CAD_NEW_PASSWORD") or getpass.getpass(
        f"password for {args.username}: "
    )

    async def run() -> None:
        async with engine_for(settings) as engine, engine.begin() as conn:
            await service.create_user(
                conn, args.username, password, args.roles, args.name, args.language, args.level
            )
            if _for_a_unit(args.roles):
                await require_unit(conn, args.username)
            await audit.record(
                conn,
                actor=_actor(),
                action="user.add",
                object_type="user",
                object_id=args.username,
                source=CLI_SOURCE,
                result="ok",
                detail={"roles": args.roles, "command_level": args.level},
            )

    asyncio.run(run())
    print(f"added {args.username}")
    return 0


def list_users(_: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        async with engine_for(settings) as engine, engine.connect() as conn:
            rows = await conn.execute(select(users).order_by(users.c.username))
            print(f"{'username':<20} {'roles':<40} {'language':<8} {'level':<10} state")
            for r in rows:
                state = "disabled" if r.disabled else "active"
                level = r.command_level or "city"
                print(
                    f"{r.username:<20} {','.join(r.roles):<40} {r.language:<8} {level:<10} {state}"
                )

    asyncio.run(run())
    return 0


def set_disabled(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        async with engine_for(settings) as engine, engine.begin() as conn:
            await service.set_disabled(conn, args.username, args.disabled)
            await audit.record(
                conn,
                actor=_actor(),
                action="user.disable" if args.disabled else "user.enable",
                object_type="user",
                object_id=args.username,
                source=CLI_SOURCE,
                result="ok",
            )

    asyncio.run(run())
    print(f"{'disabled' if args.disabled else 'enabled'} {args.username}")
    return 0


def add_device(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> str:
        async with engine_for(settings) as engine, engine.begin() as conn:
            token = await service.create_device_token(conn, args.device, args.roles)
            if _for_a_unit(args.roles):
                await require_unit(conn, args.device.strip())
            await audit.record(
                conn,
                actor=_actor(),
                action="device.add",
                object_type="device",
                object_id=args.device,
                source=CLI_SOURCE,
                result="ok",
            )
            return token

    print(asyncio.run(run()))
    return 0
