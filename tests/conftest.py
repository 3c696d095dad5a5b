"""Fixtures shared by the whole suite: a real PostgreSQL/PostGIS for every test that asks;
and the check that no secret reaches a log line (``tests.support.log_secrets``)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command import log_redaction
from tests.support import dispatch_builders
from tests.support.database import PgServer, started_server
from tests.support.live import LiveApp, serve
from tests.support.log_secrets import KNOWN, LogFile, check

_LOG_FILE = pytest.StashKey[LogFile]()
_LEAKS = pytest.StashKey[list[str]]()
_SEARCHED = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Every record of the run, from every logger at DEBUG, into one file; masked as ``cad``
    masks them (the in-process servers stand for ``cad serve``)."""
    log_redaction.install()
    path = Path(config.rootpath, "build", "test-logs", f"run-{os.getpid()}.log")
    handler = LogFile(path)
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    config.stash[_LOG_FILE] = handler


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a secret the suite used is in a log line."""
    handler = session.config.stash.get(_LOG_FILE, None)
    if handler is None:
        return
    logging.getLogger().removeHandler(handler)
    handler.finish()
    started = time.perf_counter()
    found = check(handler.path, KNOWN)
    session.config.stash[_LEAKS] = found
    session.config.stash[_SEARCHED] = (
        f"{handler.path.stat().st_size / 2**20:.1f} MiB of log searched for "
        f"{len(KNOWN.secrets)} secrets in {time.perf_counter() - started:.2f} s"
    )
    if found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        handler.path.unlink()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    searched = terminalreporter.config.stash.get(_SEARCHED, None)
    if searched is not None:
        terminalreporter.write_line(f"secrets in logs: {searched}")
    found = terminalreporter.config.stash.get(_LEAKS, [])
    if found:
        path = terminalreporter.config.stash[_LOG_FILE].path
        terminalreporter.section("secrets in the logs", red=True)
        terminalreporter.write_line(f"{len(found)} log line(s) carry a secret ({path}):")
        for line in found[:50]:
            terminalreporter.write_line(f"  {line}")


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
