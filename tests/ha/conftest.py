"""A PostgreSQL that fails over, with our schema on it: one etcd, two nodes under Patroni
(synchronous replication), migrated as `cad db migrate` migrates, and the application role."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from command.db_hosts import sqlalchemy_form
from ops import db_roles, migrate
from ops.pgcluster import APP_USER
from tests.support.log_secrets import KNOWN
from tests.support.patroni import PatroniCluster

DATABASE = "cad"
POINT = (9.52, 47.14)  # lon, lat: inside the one jurisdiction


@dataclass
class HaDatabase:
    cluster: PatroniCluster
    app_password: str

    def app_url(self) -> str:
        """The application role on every node, as an operator writes it (libpq's form)."""
        return (
            f"postgresql+asyncpg://{APP_USER}:{self.app_password}@{self.cluster.hosts()}"
            f"/{DATABASE}?target_session_attrs=read-write"
        )

    def admin_url(self) -> str:
        return sqlalchemy_form(self.cluster.superuser_url(DATABASE))


async def _create_database(cluster: PatroniCluster) -> None:
    primary = cluster.primary()
    assert primary is not None
    conn = await asyncpg.connect(
        host="127.0.0.1",
        port=primary.pg_port,
        user="cad",
        password=cluster.password,
        database="postgres",
    )
    try:
        await conn.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await conn.close()


async def _one_jurisdiction(conn: AsyncConnection) -> None:
    """A region with one jurisdiction around ``POINT``, so that incidents there are taken
    (the test is about the database, not the map: no OSM import)."""
    box = "ST_Multi(ST_MakeEnvelope(9.47, 47.05, 9.64, 47.27, 4326))"
    await conn.execute(
        text(
            "INSERT INTO gis_regions (name, srid_metric, bbox, imported_at, source) VALUES "
            "('ha-test', 32632, ST_MakeEnvelope(9.47, 47.05, 9.64, 47.27, 4326), now(), 'test')"
        )
    )
    await conn.execute(
        text(
            "INSERT INTO gis_jurisdictions (region, name, admin_level, geom) "
            f"VALUES ('ha-test', 'HA test district', 8, {box})"
        )
    )


@pytest.fixture
async def ha_database() -> AsyncIterator[HaDatabase]:
    cluster = PatroniCluster(size=2)
    KNOWN.add(cluster.password)
    KNOWN.add(cluster.replication_password)
    try:
        await asyncio.to_thread(cluster.start)
        await _create_database(cluster)
        ha = HaDatabase(cluster, app_password=secrets.token_urlsafe(18))
        KNOWN.add(ha.app_password)
        engine = create_async_engine(ha.admin_url())
        try:
            await migrate.upgrade(engine, "heads")
            async with engine.begin() as conn:
                await db_roles.ensure_role(conn, APP_USER, ha.app_password)
                await db_roles.grant(conn, APP_USER)
                await _one_jurisdiction(conn)
        finally:
            await engine.dispose()
        yield ha
    finally:
        await asyncio.to_thread(cluster.stop)
