"""``cad bench avl``: a small run against both servers, each in its own process, measures every
phase; bad arguments are refused before anything is created."""

from __future__ import annotations

import pytest

from command.bench.avl import BARE, OURS, Plan, run_benchmark
from command.cli import main
from command.settings import Settings
from tests.integration.command.bench.test_route import _bench_databases
from tests.support import database


@pytest.mark.slow
async def test_small_benchmark_run(
    pg_server: database.PgServer, database_url: str, database_admin_url: str
) -> None:
    plan = Plan(
        units=20,
        interval=0.5,
        consoles=3,
        stall=1,
        duration=3,
        warmup=3,
        ingest_seconds=2,
        sample=1,
        console_processes=2,  # the live consoles in two processes of their own
        measure_every=2,  # in each, the first console times, the others only count
    )
    result = await run_benchmark(
        Settings(database_url=database_url, database_admin_url=database_admin_url),
        plan,
        rate_hz=5.0,
    )
    phases = {(p.server, p.phase): p for p in result.phases}
    assert sorted(phases) == sorted(
        [
            (OURS, "steady"),
            (OURS, "stalled consoles"),
            (OURS, "ingest alone"),
            (BARE, "steady"),
            (BARE, "stalled consoles"),
        ]
    )
    for (server, phase), p in phases.items():
        assert p.refusals == {}, (server, phase)
        assert p.sent_per_s > 0
        if phase != "ingest alone":
            # Every accepted position reached every live console (window edges aside).
            assert p.delivered_share is not None
            assert p.delivered_share > 0.5, (server, phase, p.delivered_share)
            assert p.latency is not None
            assert p.latency.p50_ms > 0
        assert p.server_rss_mib > 10
    assert phases[OURS, "steady"].accepted_per_s
    assert phases[OURS, "ingest alone"].accepted_per_s
    assert phases[OURS, "steady"].database_cpu_pct is not None
    assert phases[OURS, "steady"].fanout is not None  # taken in -> console, ours only
    assert phases[BARE, "steady"].fanout is None
    assert phases[BARE, "steady"].accepted_per_s is None  # it answers nothing
    assert await _bench_databases(pg_server) == []


def test_bad_arguments_are_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAD_DATABASE_URL", database_url)
    for args, message in (
        (["--units", "0"], "--units 0 is outside 1..20000"),
        (["--interval", "0"], "--interval 0 is outside 0.1..600"),
        (["--rate-hz", "100"], "--rate-hz 100 is outside 0..50"),
        (["--stall", "-1"], "--stall -1 is outside 0..500"),
        (["--measure-every", "0"], "--measure-every 0 is outside 1..1000"),
        (["--rounds", "0"], "--rounds 0 is outside 1..20"),
    ):
        assert main(["bench", "avl", *args]) == 2, args
        assert message in capsys.readouterr().err
