"""``cad bench events`` runs end to end in a scratch database, leaves nothing behind, and
refuses bad parameters before touching anything."""

from __future__ import annotations

import asyncpg
import pytest

from command.bench.events import LOCKED, OURS, OURS_NO_HUB, run_benchmark
from command.settings import Settings
from tests.support import database
from tests.support.cli import cad


async def _scratch_databases(pg_server: database.PgServer) -> list[str]:
    admin = await asyncpg.connect(pg_server.cluster.url("postgres", driver="postgresql"))
    try:
        rows = await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'cad_bench_%'")
    finally:
        await admin.close()
    return [r["datname"] for r in rows]


@pytest.mark.slow
async def test_small_benchmark_run(
    pg_server: database.PgServer, database_url: str, database_admin_url: str
) -> None:
    settings = Settings(database_url=database_url, database_admin_url=database_admin_url)
    result = await run_benchmark(settings, writers=4, seconds=1.0, hold=0.5, quiet=10)
    assert [r.design for r in result.plain] == [LOCKED, OURS]
    assert [r.design for r in result.slow] == [OURS, LOCKED]
    for run in (*result.plain, *result.slow):
        assert run.commits > 0
        assert run.delivery.runs == run.commits + (1 if run in result.slow else 0)
    ours, locked = result.slow
    assert ours.during_hold is not None
    assert locked.during_hold is not None
    # Behind the first release's lock the writers wait for the slow transaction; here not.
    assert ours.during_hold > locked.during_hold
    assert locked.commit.max_ms >= 500
    assert set(result.quiet) == {LOCKED, OURS, OURS_NO_HUB}
    assert all(t.runs == 10 for t in result.quiet.values())
    assert await _scratch_databases(pg_server) == []


async def test_bad_parameters_are_refused(
    pg_server: database.PgServer, database_url: str, database_admin_url: str
) -> None:
    for args, message in (
        (["--writers", "0"], "--writers 0 is outside 1..100"),
        (["--seconds", "0.5"], "--seconds 0.5 is outside 1..600"),
        (["--seconds", "5", "--hold", "4.5"], "--hold 4.5 must be above 0 and at most 80%"),
        (["--quiet", "0"], "--quiet 0 is outside 1..10000"),
        (["--rounds", "0"], "--rounds 0 is outside 1..20"),
    ):
        result = cad(
            "bench",
            "events",
            *args,
            CAD_DATABASE_URL=database_url,
            CAD_DATABASE_ADMIN_URL=database_admin_url,
        )
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
    assert await _scratch_databases(pg_server) == []
