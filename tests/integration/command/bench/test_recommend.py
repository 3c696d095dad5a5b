"""``cad bench recommend`` runs end to end in a scratch database and leaves nothing behind."""

from __future__ import annotations

import asyncpg
import pytest

from command.bench.recommend import run_benchmark
from command.cli import main
from command.settings import Settings
from tests.support import database
from tests.support import dispatch_builders as b


@pytest.mark.slow
async def test_small_benchmark_run(
    pg_server: database.PgServer, database_url: str, database_admin_url: str
) -> None:
    settings = Settings(database_url=database_url, database_admin_url=database_admin_url)
    result = await run_benchmark(settings, b.REGION, b.PBF, 60, runs=4, baseline_runs=2, seed=7)
    assert result.units == 60
    assert result.ours.runs == 4
    assert result.ours_recommend.runs == 4
    assert result.baseline.runs == 2
    assert result.baseline_recommend.runs == 2
    assert result.compared == 2
    assert result.same_choices == 2  # in memory or pgRouting: the same units
    assert 0 < result.ours.p50_ms <= result.ours.p95_ms <= result.ours.max_ms
    assert result.routed_per_incident_p50 > 0
    admin = await asyncpg.connect(pg_server.cluster.url("postgres", driver="postgresql"))
    try:
        left = await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'cad_bench_%'")
    finally:
        await admin.close()
    assert left == []


@pytest.mark.slow
async def test_small_benchmark_run_in_a_city(database_url: str, database_admin_url: str) -> None:
    settings = Settings(database_url=database_url, database_admin_url=database_admin_url)
    result = await run_benchmark(
        settings, b.REGION, b.PBF, 80, runs=3, baseline_runs=3, seed=7, tiles=(2, 1)
    )
    assert result.region == "city"
    assert result.units == 80
    assert result.same_choices == 3


def test_bad_arguments_are_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAD_DATABASE_URL", database_url)
    for args, message in (
        (["--tiles", "7"], "--tiles must be COLSxROWS"),
        (["--units", "0"], "--units must be at least 1"),
        (["--baseline-runs", "-3"], "--baseline-runs must be at least 1"),
        (["--pbf", "/nowhere.pbf"], "no OSM extract at /nowhere.pbf"),
    ):
        assert main(["bench", "recommend", *args]) == 2, args
        assert message in capsys.readouterr().err
