"""What several commands share: reaching the database, embedded or configured; progress."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from command.db import admin_database_url, cluster_for, database_url, make_engine, prepare_roles
from command.errors import Unavailable
from command.settings import Settings
from ops import migrate
from ops.pgcluster import ClusterError


def ensure_embedded_running(settings: Settings, *, start: bool = True) -> None:
    """Create (once) and start the private cluster, and its ``cad`` database; ``start=False``
    when a supervisor runs the server."""
    if not settings.embedded:
        return
    cluster = cluster_for(settings)
    try:
        if cluster.init():
            print(f"created the embedded database cluster in {cluster.root}")
        if start:
            cluster.start()
    except ClusterError as exc:
        raise Unavailable(str(exc), code="database.cluster_failed", reason=str(exc)) from exc
    asyncio.run(_create_database(cluster.url("postgres", driver="postgresql")))


async def _create_database(admin_dsn: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'cad'")
        if not exists:
            await conn.execute("CREATE DATABASE cad")
    finally:
        await conn.close()


@asynccontextmanager
async def engine_for(settings: Settings, *, admin: bool = False) -> AsyncIterator[AsyncEngine]:
    """The application role's engine, or (``admin``) the owner's, for migrations."""
    url = admin_database_url(settings) if admin else database_url(settings)
    engine = make_engine(url, settings)
    try:
        yield engine
    except (OSError, asyncpg.PostgresError) as exc:
        raise Unavailable(
            f"cannot reach the database: {exc}", code="database.unreachable", reason=str(exc)
        ) from exc
    finally:
        await engine.dispose()


async def migrate_and_grant(settings: Settings, engine: AsyncEngine) -> list[str]:
    """Apply what is pending with the owner's ``engine``, then give the application role its
    rights again (new tables are the owner's until then); returns the revisions applied."""
    pending = await migrate.pending(engine)
    if pending:
        await migrate.upgrade(engine)
    await prepare_roles(engine, database_url(settings))
    return pending


BAR_WIDTH = 20


class Progress:
    """Progress of a long step on stderr: one updating line on a terminal, lines otherwise."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        elapsed = time.monotonic() - self.started
        amount = f"{done:,}" if total is None or total == done else f"{done:,}/{total:,}"
        line = f"[{elapsed:6.1f}s] {stage}: {amount}"
        if total:
            share = min(1.0, done / total)
            filled = round(BAR_WIDTH * share)
            line += f" [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {100 * share:3.0f}%"
        if self.tty:
            print(f"\r{line:<70}", end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty:
            print(file=sys.stderr)
