"""The Liechtenstein extract imported once per test run into a shared database.

Tests that only read use ``liechtenstein`` (an engine on that database). Tests that write must
undo what they wrote (or work inside a transaction they roll back), so others see the import
as it was.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gis.osm_import import ImportSummary, import_osm
from tests.support.database import PgServer

REGION = "liechtenstein"
EXTRACT = Path(__file__).resolve().parents[4] / "shared" / "data" / "osm" / "liechtenstein.osm.pbf"


@pytest.fixture(scope="session")
async def liechtenstein_import(pg_server: PgServer) -> AsyncIterator[tuple[str, ImportSummary]]:
    """URL of a database holding the imported Liechtenstein extract, and the import summary."""
    if not EXTRACT.exists():
        pytest.fail(f"the shared OSM extract is missing: {EXTRACT}")
    name = await pg_server.new_database()
    url = pg_server.url(name)
    engine = create_async_engine(url)
    try:
        summary = await import_osm(engine, EXTRACT, REGION)
    finally:
        await engine.dispose()
    yield url, summary
    await pg_server.drop_database(name)


@pytest.fixture(scope="session")
async def liechtenstein(
    liechtenstein_import: tuple[str, ImportSummary],
) -> AsyncIterator[AsyncEngine]:
    """An engine on the shared database with Liechtenstein imported (region ``liechtenstein``)."""
    engine = create_async_engine(liechtenstein_import[0], pool_size=5, max_overflow=10)
    yield engine
    await engine.dispose()
