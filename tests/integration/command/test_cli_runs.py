"""A `cad` run forked from the tests' zygote (tests.support.cli) is what `python -m command`
gives: the same output, the same exit status, the run's own environment and directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import cad, cad_in


def _python_m_command(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "command", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [["--help"], ["user", "add"], ["no-such-command"], ["gis", "geocode", "x", "--limit", "0"]],
    ids=" ".join,
)
def test_a_run_answers_as_python_m_command_does(args: list[str]) -> None:
    forked = cad(*args, CAD_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    real = _python_m_command(*args, CAD_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert (forked.returncode, forked.stdout, forked.stderr) == (
        real.returncode,
        real.stdout,
        real.stderr,
    )


def test_a_run_has_its_own_environment_and_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CAD_PORT=not-a-port\n")
    done = cad_in(tmp_path, "db", "status")
    assert done.returncode == 2
    assert "CAD_PORT" in done.stderr
    assert cad("db", "status", CAD_PORT="also not a port").stderr.count("CAD_PORT") == 1
