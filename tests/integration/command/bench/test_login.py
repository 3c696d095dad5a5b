"""``cad bench login`` runs end to end with tiny numbers: both designs serve, the flood is
answered (refused, throttled or busy), incidents are timed, nothing is left behind."""

from __future__ import annotations

import asyncpg
import pytest

from command.bench.login import run_benchmark
from command.cli import main
from command.settings import Settings
from tests.support import database


@pytest.mark.slow
async def test_small_benchmark_run(
    pg_server: database.PgServer, database_url: str, database_admin_url: str
) -> None:
    settings = Settings(
        database_url=database_url, database_admin_url=database_admin_url, login_source_failures=5
    )
    result = await run_benchmark(settings, rate=40.0, sources=3, incidents=5)
    for phase in (result.ours, result.baseline):
        assert phase.unloaded.runs == phase.flooded.runs == 5
        assert phase.attempts > 0
        # Refused (401), throttled (429) or, off the loop, told the hashing is busy (503).
        assert sum(phase.answers.values()) > 0
        assert set(phase.answers) <= {"401", "429", "503"}
        assert 0 < phase.unloaded.p50_ms <= phase.unloaded.p95_ms
    assert result.baseline.hash_refused == 0  # inline: there is no pool to be busy
    admin = await asyncpg.connect(pg_server.cluster.url("postgres", driver="postgresql"))
    try:
        left = await admin.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'cad_bench_%'")
    finally:
        await admin.close()
    assert left == []


@pytest.mark.parametrize("bad", [["--rate", "0"], ["--sources", "0"], ["--incidents", "1"]])
def test_bad_arguments_are_refused(
    bad: list[str],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CAD_DATABASE_URL", database_url)
    assert main(["bench", "login", *bad]) == 2
    assert "is outside" in capsys.readouterr().err
