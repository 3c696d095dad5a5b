"""A throwaway PostgreSQL/PostGIS for the test run, with a migrated template database.

Each test gets its own database copied from the template (``CREATE DATABASE … TEMPLATE``),
which is much faster than migrating from scratch.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ops import db_roles, migrate
from ops.pgcluster import APP_USER, Cluster, free_port

TEMPLATE = "cad_template"
_counter = itertools.count(1)


class PgServer:
    """The cluster for one test run."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="cad-test-pg-"))
        self.cluster = Cluster(root=self.tmp / "pg", port=free_port())

    def start(self) -> None:
        self.cluster.init(durable=False)
        self.cluster.start()

    def stop(self) -> None:
        self.cluster.destroy()

    def url(self, database: str) -> str:
        """The application role's URL, as ``cad serve`` connects."""
        return self.cluster.app_url(database)

    def admin_url(self, database: str) -> str:
        """The owner's (the cluster's superuser): migrations, tampering, faults."""
        return self.cluster.url(database)

    async def migrate(self, database: str, revision: str = "heads") -> None:
        """Migrate as the owner, then give the application role its rights, as `cad db
        migrate` does."""
        engine = create_async_engine(self.admin_url(database))
        try:
            await migrate.upgrade(engine, revision)
            async with engine.begin() as conn:
                await db_roles.ensure_role(conn, APP_USER, self.cluster.app_password())
                await db_roles.grant(conn, APP_USER)
        finally:
            await engine.dispose()

    async def _admin(self) -> asyncpg.Connection:
        dsn = self.cluster.url("postgres", driver="postgresql")
        return await asyncpg.connect(dsn)

    async def build_template(self) -> None:
        conn = await self._admin()
        try:
            await conn.execute(f"CREATE DATABASE {TEMPLATE}")
        finally:
            await conn.close()
        await self.migrate(TEMPLATE)

    async def new_database(self) -> str:
        name = f"test_{next(_counter)}"
        conn = await self._admin()
        try:
            await conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        finally:
            await conn.close()
        return name

    async def new_empty_database(self) -> str:
        """A database without any schema, as a new server's."""
        name = f"test_empty_{next(_counter)}"
        conn = await self._admin()
        try:
            await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()
        return name

    async def database_at(self, revision: str) -> str:
        """A new database migrated only up to ``revision``: one as an older release left it."""
        name = await self.new_empty_database()
        await self.migrate(name, revision)
        return name

    async def drop_database(self, name: str) -> None:
        conn = await self._admin()
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await conn.close()


async def until_waiting_for_a_lock(engine: AsyncEngine, pid: int, limit: float = 10.0) -> None:
    """Return once the backend ``pid`` is blocked on a lock (a row lock, say)."""
    deadline = asyncio.get_running_loop().time() + limit
    query = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
    while True:
        async with engine.connect() as conn:
            if await conn.scalar(query, {"pid": pid}) == "Lock":
                return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"backend {pid} never waited for a lock")
        await asyncio.sleep(0.01)


def started_server() -> Iterator[PgServer]:
    server = PgServer()
    server.start()
    try:
        asyncio.run(server.build_template())
        yield server
    finally:
        server.stop()
