"""``cad bench video``: a small run through cad serve with a private Janus and through the
aiortc relay measures every figure; bad arguments are refused before anything starts."""

from __future__ import annotations

import pytest

from command.bench.video import BASELINE, OURS, Plan, run_benchmark
from command.cli import main
from command.settings import Settings
from tests.integration.command.bench.test_route import _bench_databases
from tests.support import database
from tests.support.janus import start_janus


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_small_benchmark_run(
    pg_server: database.PgServer, database_url: str, database_admin_url: str, tmp_path_factory:
    pytest.TempPathFactory,
) -> None:
    start_janus(tmp_path_factory.mktemp("janus-probe")).stop()  # skipped loudly without Janus
    plan = Plan(joins=3, parties=3, seconds=2.0)
    result = await run_benchmark(
        Settings(database_url=database_url, database_admin_url=database_admin_url), plan
    )
    assert [p.server for p in result.phases] == [OURS, BASELINE]
    for p in result.phases:
        assert p.join.runs == 3
        assert p.join.p50_ms > 0
        assert p.streams == 6
        assert len(p.fps) == 6
        # Every stream delivered decoded frames of its sender in the window.
        assert min(p.fps) > 0, (p.server, p.fps)
        assert p.server_cpu_pct > 0
        assert p.loadgen_cpu_pct > 0
    assert await _bench_databases(pg_server) == []


def test_bad_arguments_are_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAD_DATABASE_URL", database_url)
    for args, message in (
        (["--joins", "0"], "--joins 0 is outside 1..500"),
        (["--parties", "1"], "--parties 1 is outside 2..12"),
        (["--seconds", "0"], "--seconds 0 is outside 1..600"),
    ):
        assert main(["bench", "video", *args]) == 2, args
        assert message in capsys.readouterr().err
