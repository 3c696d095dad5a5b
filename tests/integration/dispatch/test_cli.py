"""``cad dispatch seed`` and ``cad dispatch units`` against a database with the map."""

from __future__ import annotations

import pytest

from command.cli import main


def test_seed_then_board(
    map_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAD_DATABASE_URL", map_url)
    assert main(["dispatch", "seed", "--region", "liechtenstein"]) == 0
    seeded = capsys.readouterr().out
    assert seeded.startswith("liechtenstein: ")
    assert "stations" in seeded
    assert main(["dispatch", "seed", "--region", "liechtenstein"]) == 0
    assert capsys.readouterr().out.strip() == "liechtenstein: already seeded"
    assert main(["dispatch", "units"]) == 0
    board = capsys.readouterr().out.splitlines()
    assert board[-1].endswith("units, 0 overdue")
    assert all(" available " in line for line in board[:-1])
    assert main(["dispatch", "seed", "--region", "atlantis"]) == 2
    assert "has no fire stations" in capsys.readouterr().err
