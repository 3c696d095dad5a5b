"""A scratch database for a benchmark: created next to the configured one, migrated, and
dropped afterwards (also when the run fails or is interrupted), so the real log stays clean."""

from __future__ import annotations

import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command.db import admin_database_url, database_url, make_engine, prepare_roles
from command.errors import Unavailable
from command.settings import Settings
from ops import migrate

PREFIX = "cad_bench_"


async def _admin(url: str, sql: str) -> None:
    admin = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await admin.dispose()


@asynccontextmanager
async def scratch_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh, migrated database (same server, role and engine settings as the
    service's: created and migrated by the owner), dropped on the way out."""
    base, owner = database_url(settings), admin_database_url(settings)
    name = f"{PREFIX}{secrets.token_hex(4)}"
    try:
        await _admin(owner, f"CREATE DATABASE {name}")
    except Exception as exc:
        raise Unavailable(
            f"cannot create a scratch database for the benchmark: {exc}",
            code="bench.scratch_failed",
            reason=str(exc),
        ) from exc
    app_url = make_url(base).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(app_url, settings)
    try:
        migrator = create_async_engine(make_url(owner).set(database=name))
        try:
            await migrate.upgrade(migrator)
            await prepare_roles(migrator, app_url)
        finally:
            await migrator.dispose()
        yield engine
    finally:
        await engine.dispose()
        await _admin(owner, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def analyse(engine: AsyncEngine) -> None:
    """Planner statistics now: fresh tables have none until autovacuum comes round, and a
    long-running server has them, so benchmarks measure with them."""
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
        await conn.commit()


def drop_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C, so the scratch database is dropped on the way out."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
