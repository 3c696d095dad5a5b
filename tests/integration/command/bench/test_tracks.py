"""``cad bench tracks`` on a small scale: both tables hold the same rows, every 24-hour window
reads the same fixes from both, every ingested fix is written, and bad options are refused."""

from __future__ import annotations

import pytest

from command.bench.tracks import BASELINE, OURS, report, run_benchmark
from command.cli import main
from command.settings import Settings


async def test_a_small_run_measures_both_designs(
    database_url: str, database_admin_url: str
) -> None:
    settings = Settings(database_url=database_url, database_admin_url=database_admin_url)
    said: list[str] = []
    result = await run_benchmark(
        settings, positions=24_000, units=10, days=3, samples=20, ingest=2_000, say=said.append
    )
    assert result.positions == 24_000
    assert result.interval_s == pytest.approx(86_400 / 800)
    assert result.partitions >= 5  # three days, today and tomorrow
    assert set(result.playback) == {OURS, BASELINE}
    assert all(t.runs == 20 for t in result.playback.values())
    assert result.service_playback.runs == 20
    assert result.rows_per_window == pytest.approx(800, abs=1)  # a day of one unit
    turns = [OURS, BASELINE, BASELINE, OURS]
    assert [(i.design, i.fixes) for i in result.ingest] == [(d, 2_000) for d in turns * 2]
    # after the warm-up (10,000), taking turns; then with the generated rows as well
    rows = [i.table_rows for i in result.ingest]
    assert rows == [10_000, 10_000, 12_000, 12_000, 38_000, 38_000, 40_000, 40_000]
    assert result.compact_s >= 0
    assert "24-hour playback" in report(result)
    assert any("generating 24,000 positions" in line for line in said)


def test_bad_options_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "tracks", "--positions", "10"]) != 0
    assert "--positions" in capsys.readouterr().err
    assert main(["bench", "tracks", "--positions", "10000", "--units", "5000"]) != 0
    assert "fewer than two" in capsys.readouterr().err
