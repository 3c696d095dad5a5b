"""Fixtures for dispatch tests: a database with the Liechtenstein map and a service over it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command.incidents.service import IncidentService
from tests.support import database
from tests.support import dispatch_builders as b


@pytest.fixture
async def map_url(pg_server: database.PgServer) -> AsyncIterator[str]:
    async with b.map_database(pg_server) as url:
        yield url


@pytest.fixture
async def map_engine(map_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(map_url, pool_size=5, max_overflow=20)
    yield engine
    await engine.dispose()


@pytest.fixture
def service(map_engine: AsyncEngine) -> IncidentService:
    return IncidentService(map_engine)
