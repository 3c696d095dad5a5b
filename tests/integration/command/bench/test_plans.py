"""``cad bench plans`` runs end to end in a scratch database: both designs rank the same plans
for every incident, and nothing is left behind."""

from __future__ import annotations

import asyncpg
import pytest

from command.bench.plans import run_benchmark
from command.cli import main
from command.settings import Settings
from tests.support import database


@pytest.mark.slow
async def test_small_benchmark_run(
    pg_server: database.PgServer, database_url: str, database_admin_url: str
) -> None:
    settings = Settings(database_url=database_url, database_admin_url=database_admin_url)
    result = await run_benchmark(settings, plans=400, incidents=30, seed=5)
    assert result.plans == 400
    assert result.ours.runs == result.baseline.runs == result.ours_polling.runs == 30
    assert result.same_rankings == result.compared == 30
    assert result.matched_per_incident > 0  # the rankings compared are not empty
    assert result.candidates_per_incident < 400
    assert 0 < result.ours.p50_ms <= result.ours.p95_ms <= result.ours.max_ms
    admin = await asyncpg.connect(pg_server.cluster.url("postgres", driver="postgresql"))
    try:
        left = await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'cad_bench_%'")
    finally:
        await admin.close()
    assert left == []


def test_bad_arguments_are_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAD_DATABASE_URL", database_url)
    assert main(["bench", "plans", "--plans", "0"]) == 2
    assert "--plans 0 is outside 1..100000" in capsys.readouterr().err
