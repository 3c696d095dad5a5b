"""The throwaway database has the extensions and the foundation schema."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ops import migrate


async def test_extensions_installed(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT extname FROM pg_extension"))).scalars().all()
    assert {"postgis", "pgrouting", "pg_trgm", "unaccent"} <= set(rows)


async def test_schema_is_current(engine: AsyncEngine) -> None:
    assert await migrate.pending(engine) == []
