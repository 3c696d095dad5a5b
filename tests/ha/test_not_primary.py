"""A write that reaches a standby is answered 503 ``database.not_primary`` with Retry-After,
never 500, and the pool drops the connection."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from ops.pgcluster import APP_USER
from tests.ha.conftest import DATABASE, POINT, HaDatabase
from tests.support import builders
from tests.support.live import LiveApp, serve
from tests.support.patroni import Node

pytestmark = pytest.mark.slow


async def _app_backends(ha: HaDatabase, node: Node) -> set[int]:
    """The app's connections to ``node`` (its application_name is ``cad``)."""
    conn = await asyncpg.connect(
        host="127.0.0.1", port=node.pg_port, user="cad", password=ha.cluster.password,
        database=DATABASE,
    )
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'cad' AND usename = $1",
            APP_USER,
        )
    finally:
        await conn.close()
    return {int(r["pid"]) for r in rows}


async def _create(live: LiveApp, headers: dict[str, str], key: str) -> tuple[int, str, str]:
    r = await live.http.post(
        "/api/v1/incidents",
        headers={**headers, "Idempotency-Key": key},
        json={"type": "medical", "lon": POINT[0], "lat": POINT[1], "summary": key},
    )
    return r.status_code, r.json().get("code", ""), r.headers.get("Retry-After", "")


async def test_a_write_on_a_standby_is_a_503_and_its_connection_is_dropped(
    ha_database: HaDatabase,
) -> None:
    cluster = ha_database.cluster
    primary = cluster.primary()
    assert primary is not None
    standby = next(n for n in cluster.nodes if n is not primary)
    async with serve(ha_database.app_url()) as on_primary:
        engine = create_async_engine(ha_database.admin_url())
        try:
            headers = await builders.signed_in(on_primary.http, engine, "disp1", "dispatcher")
        finally:
            await engine.dispose()
        assert (await _create(on_primary, headers, "on-primary"))[0] == 201

    # The standby alone, named directly: it serves reads, and refuses every write.
    direct = (
        f"postgresql+asyncpg://{APP_USER}:{ha_database.app_password}"
        f"@127.0.0.1:{standby.pg_port}/{DATABASE}"
    )
    async with serve(direct) as on_standby:
        listed = await on_standby.http.get("/api/v1/incidents", headers=headers)
        assert listed.status_code == 200, listed.text
        before = await _app_backends(ha_database, standby)
        assert before
        # Twice: the first keyed write also prunes old keys, the second only claims its own.
        for key in ("on-standby-1", "on-standby-2"):
            assert await _create(on_standby, headers, key) == (503, "database.not_primary", "2")
        # The failed connection is closed at once (the others pooled with it are replaced
        # when next taken out: SQLAlchemy's pool invalidation is lazy).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while (await _app_backends(ha_database, standby)) >= before:
            assert loop.time() < deadline, f"the pool kept every connection of {before}"
            await asyncio.sleep(0.05)
