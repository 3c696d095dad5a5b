"""``cad db init|start|stop|status|migrate``: the embedded cluster and the schema.

``init`` leaves a database ready to use: the cluster created and started, the schema current.
``status`` exits 0 only when the database answers and its schema is current.
"""

from __future__ import annotations

import argparse
import asyncio

from sqlalchemy import make_url

from command.cli.common import engine_for, ensure_embedded_running, migrate_and_grant
from command.db import cluster_for
from command.errors import InvalidInput, Unavailable
from command.settings import Settings
from ops import migrate


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="the database: embedded cluster and migrations")
    actions = db.add_subparsers(dest="db_action", required=True, metavar="ACTION")
    for name, handler, text in (
        ("init", init, "create and start the embedded cluster, and migrate its database"),
        ("start", start, "start the embedded cluster"),
        ("stop", stop, "stop the embedded cluster"),
        ("status", status, "is the database running, is its schema current (exit 0 if both)"),
        ("migrate", migrate_cmd, "bring the schema up to date"),
    ):
        p = actions.add_parser(name, help=text)
        p.set_defaults(handler=handler)


def _embedded_only(settings: Settings, what: str) -> None:
    if not settings.embedded:
        raise InvalidInput(
            f"`cad db {what}` manages the embedded cluster; CAD_DATABASE_URL is set",
            code="database.not_embedded",
            what=what,
        )


def _pending(settings: Settings) -> list[str]:
    async def run() -> list[str]:
        async with engine_for(settings, admin=True) as engine:
            return await migrate.pending(engine)

    return asyncio.run(run())


def _upgrade(settings: Settings) -> list[str]:
    """Apply what is pending; returns the revisions applied."""

    async def run() -> list[str]:
        async with engine_for(settings, admin=True) as engine:
            return await migrate_and_grant(settings, engine)

    return asyncio.run(run())


def _applied(revisions: list[str]) -> str:
    if not revisions:
        return "schema: current"
    return f"schema: current (applied {', '.join(revisions)})"


def _behind(pending: list[str]) -> str:
    listed = "".join(f"\n  {rev}" for rev in pending)
    return f"schema: behind, {len(pending)} pending (run `cad db migrate`):{listed}"


def init(_: argparse.Namespace, settings: Settings) -> int:
    _embedded_only(settings, "init")
    ensure_embedded_running(settings)
    print(f"database running on 127.0.0.1:{settings.embedded_port}")
    print(_applied(_upgrade(settings)))
    return 0


def start(_: argparse.Namespace, settings: Settings) -> int:
    _embedded_only(settings, "start")
    if not cluster_for(settings).initialised():
        raise InvalidInput(
            "there is no embedded cluster yet: `cad db init` creates it",
            code="database.no_cluster",
        )
    ensure_embedded_running(settings)
    print(f"database running on 127.0.0.1:{settings.embedded_port}")
    pending = _pending(settings)
    print(_behind(pending) if pending else "schema: current")
    return 0


def stop(_: argparse.Namespace, settings: Settings) -> int:
    _embedded_only(settings, "stop")
    cluster_for(settings).stop()
    print("database stopped")
    return 0


def status(_: argparse.Namespace, settings: Settings) -> int:
    if settings.embedded:
        cluster = cluster_for(settings)
        if not cluster.initialised():
            print(f"database: no embedded cluster yet in {cluster.root} (run `cad db init`)")
            return 1
        if not cluster.running():
            print(f"database: the embedded cluster in {cluster.root} is stopped (`cad db start`)")
            return 1
        where = f"the embedded cluster in {cluster.root}, running on 127.0.0.1:{cluster.port}"
    else:
        assert settings.database_url is not None
        where = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        pending = _pending(settings)
    except Unavailable as exc:
        print(f"database: {where}: {exc}")
        return 1
    print(f"database: {where}")
    print(_behind(pending) if pending else "schema: current")
    return 0 if not pending else 1


def migrate_cmd(_: argparse.Namespace, settings: Settings) -> int:
    ensure_embedded_running(settings)
    print(_applied(_upgrade(settings)))
    return 0
