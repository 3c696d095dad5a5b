"""``cad plan import|export|list|approve`` against a database with the map."""

from __future__ import annotations

from pathlib import Path

import pytest

from command.cli import main
from tests.support.plan_builders import COLLISION_YAML, line_of, yaml_with


def test_import_list_approve_export(
    map_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CAD_DATABASE_URL", map_url)
    plan = tmp_path / "collision.yaml"
    plan.write_text(COLLISION_YAML, encoding="utf-8")
    assert main(["plan", "import", str(plan)]) == 0
    assert capsys.readouterr().out.strip().endswith("collision_main_road version 1 draft")
    assert main(["plan", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split()[:3] == ["collision_main_road", "v1", "draft"]
    assert listed[-1] == "1 plans"
    assert main(["plan", "approve", "collision_main_road", "1"]) == 0
    assert capsys.readouterr().out.strip() == "collision_main_road version 1 approved by cli"
    assert main(["plan", "export", "collision_main_road"]) == 0
    exported = capsys.readouterr().out
    assert exported.startswith("key: collision_main_road\n")

    broken = tmp_path / "broken.yaml"
    text = yaml_with("ambulance_als: 2", "ambulance_xl: 2")
    broken.write_text(text, encoding="utf-8")
    assert main(["plan", "import", str(broken)]) == 2
    err = capsys.readouterr().err
    assert f"line {line_of(text, 'ambulance_xl')}: stages[1].resources.ambulance_xl" in err
    assert main(["plan", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 plans"
