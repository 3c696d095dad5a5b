"""A scratch database for a benchmark: created next to the configured one, migrated, and
dropped afterwards (also when the run fails or is interrupted), so the real log stays clean."""

from __future__ import annotations

import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command.db import database_url, make_engine
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
    """An engine on a fresh, migrated database (same server and engine settings as the
    service's), dropped on the way out."""
    base = database_url(settings)
    name = f"{PREFIX}{secrets.token_hex(4)}"
    try:
        await _admin(base, f"CREATE DATABASE {name}")
    except Exception as exc:
        raise Unavailable(
            f"cannot create a scratch database for the benchmark: {exc}",
            code="bench.scratch_failed",
            reason=str(exc),
        ) from exc
    engine = make_engine(
        make_url(base).set(database=name).render_as_string(hide_password=False), settings
    )
    try:
        await migrate.upgrade(engine)
        yield engine
    finally:
        await engine.dispose()
        await _admin(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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
