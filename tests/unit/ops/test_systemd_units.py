"""The systemd units of ops/systemd: systemd reads them without a complaint, they restart
their process within a second, and cad.service runs `cad serve` without its own supervisor."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from command.cli import build_parser

ROOT = Path(__file__).resolve().parents[3]
UNITS = sorted((ROOT / "ops" / "systemd").glob("*.service"))


def _service(unit: Path) -> dict[str, str]:
    """The [Service] section's settings (each is set once in our units)."""
    found: dict[str, str] = {}
    section = ""
    for line in unit.read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            assert key not in found, f"{unit.name}: {key} set twice"
            found[key] = value
    return found


def test_both_units_are_there() -> None:
    assert [u.name for u in UNITS] == ["cad-db.service", "cad.service"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_each_unit_restarts_its_process_within_a_second(unit: Path) -> None:
    service = _service(unit)
    assert service["Restart"] == "always"
    assert service["RestartSec"] == "1"


def test_cad_service_serves_without_a_supervisor_of_its_own() -> None:
    argv = shlex.split(_service(ROOT / "ops" / "systemd" / "cad.service")["ExecStart"])
    assert Path(argv[0]).name == "cad"
    args = build_parser().parse_args(argv[1:])
    assert (args.command, args.no_supervise) == ("serve", True)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_reads_the_units_without_a_complaint(tmp_path: Path) -> None:
    # The units name /opt/cad; here the checkout stands in for it, so the paths exist.
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/cad", str(ROOT)))
    checked = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / u.name) for u in UNITS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (checked.returncode, checked.stderr) == (0, "")
