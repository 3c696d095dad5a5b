"""Fixtures shared by the whole suite: a real PostgreSQL/PostGIS for every test that asks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.support import dispatch_builders
from tests.support.database import PgServer, started_server
from tests.support.live import LiveApp, serve


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    yield from started_server()


@pytest.fixture
async def database_url(pg_server: PgServer) -> AsyncIterator[str]:
    """A fresh, migrated database for this test; dropped afterwards."""
    name = await pg_server.new_database()
    yield pg_server.url(name)
    await pg_server.drop_database(name)


@pytest.fixture
async def foundation_url(pg_server: PgServer) -> AsyncIterator[str]:
    """A database migrated only to the first revision, as the first release left it."""
    name = await pg_server.database_at("0001_foundation")
    yield pg_server.url(name)
    await pg_server.drop_database(name)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(database_url, pool_size=5, max_overflow=30)
    yield eng
    await eng.dispose()


@pytest.fixture
def database_admin_url(pg_server: PgServer, database_url: str) -> str:
    """This test's database as its owner (the cluster's superuser) reaches it: for migrations,
    scratch databases, faults and what an intruder with the owner's rights could do."""
    return pg_server.admin_url(str(make_url(database_url).database))


@pytest.fixture
async def admin_engine(database_admin_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(database_admin_url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def live(database_url: str) -> AsyncIterator[LiveApp]:
    """The whole app on a real port, wired to this test's database."""
    async with serve(database_url) as app:
        yield app


@pytest.fixture
async def map_url(pg_server: PgServer) -> AsyncIterator[str]:
    """A fresh database with the Liechtenstein map imported (copied from a template)."""
    async with dispatch_builders.map_database(pg_server) as url:
        yield url


@pytest.fixture
async def map_engine(map_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(map_url, pool_size=5, max_overflow=20)
    yield engine
    await engine.dispose()
