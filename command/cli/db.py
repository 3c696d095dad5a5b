"""``cad db init|start|stop|status|migrate``: the embedded cluster and the schema."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from command.cli.common import engine_for, ensure_embedded_running
from command.db import cluster_for
from command.errors import InvalidInput
from command.settings import Settings
from ops import migrate


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="the database: embedded cluster and migrations")
    actions = db.add_subparsers(dest="db_action", required=True, metavar="ACTION")
    for name, handler, text in (
        ("init", init, "create and start the embedded cluster and its database"),
        ("start", start, "start the embedded cluster"),
        ("stop", stop, "stop the embedded cluster"),
        ("status", status, "say whether the database is reachable and current"),
        ("migrate", migrate_cmd, "bring the schema up to date"),
    ):
        p = actions.add_parser(name, help=text)
        p.set_defaults(handler=handler)


def _embedded_only(settings: Settings, what: str) -> None:
    if not settings.embedded:
        raise InvalidInput(f"`cad db {what}` manages the embedded cluster; CAD_DATABASE_URL is set")


def init(_: argparse.Namespace, settings: Settings) -> int:
    _embedded_only(settings, "init")
    ensure_embedded_running(settings)
    print(f"database ready on 127.0.0.1:{settings.embedded_port}")
    return 0


def start(_: argparse.Namespace, settings: Settings) -> int:
    return init(_, settings)


def stop(_: argparse.Namespace, settings: Settings) -> int:
    _embedded_only(settings, "stop")
    cluster_for(settings).stop()
    print("database stopped")
    return 0


def status(_: argparse.Namespace, settings: Settings) -> int:
    if settings.embedded:
        cluster = cluster_for(settings)
        if not cluster.initialised():
            print(
                f"embedded cluster: not created (run `cad db init`); would live in {cluster.root}"
            )
            return 1
        if not cluster.running():
            print(f"embedded cluster in {cluster.root}: stopped")
            return 1
        print(f"embedded cluster in {cluster.root}: running on port {cluster.port}")

    async def check() -> list[str]:
        async with engine_for(settings) as engine:
            return await migrate.pending(engine)

    pending = asyncio.run(check())
    print("schema: current" if not pending else f"schema: behind ({', '.join(pending)} pending)")
    return 0 if not pending else 1


def migrate_cmd(_: argparse.Namespace, settings: Settings) -> int:
    ensure_embedded_running(settings)

    async def run() -> Any:
        async with engine_for(settings) as engine:
            await migrate.upgrade(engine)

    asyncio.run(run())
    print("schema: current")
    return 0
