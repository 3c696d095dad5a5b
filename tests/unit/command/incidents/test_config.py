"""Incident settings from JSON: overrides, defaults, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from command.errors import InvalidInput
from command.incidents.config import config_from_mapping, load_config
from command.incidents.domain import CommandLevel
from dispatch.units import Capability


def test_defaults_without_a_file() -> None:
    config = load_config(None)
    assert config.run_cards.for_type("fire")[Capability.ENGINE] == 2
    assert config.duplicate_window.distance_m == 300


def test_overrides(tmp_path: Path) -> None:
    path = tmp_path / "incidents.json"
    path.write_text(
        json.dumps(
            {
                "run_cards": {"medical": {"ambulance_als": 2}},
                "duplicate_window": {"distance_m": 500, "minutes": 10},
                "status_limits_s": {"not_acknowledged": 30},
                "default_command_level": "city",
                "targets": [{"name": "t", "interval": "travel", "limit_s": 300, "share": 0.8}],
            }
        ),
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.run_cards.for_type("medical.fall") == {Capability.AMBULANCE_ALS: 2}
    assert config.run_cards.for_type("fire") == {}
    assert config.duplicate_window.minutes == 10
    assert config.status_limits.seconds == {"not_acknowledged": 30}
    assert config.default_command_level is CommandLevel.CITY
    assert [t.name for t in config.targets] == ["t"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"colour": "red"}, "unknown incident setting colour"),
        ({"run_cards": {"ufo": {"engine": 1}}}, "run card for ufo, which is not an incident type"),
        ({"run_cards": {"fire": {"laser": 1}}}, "unknown capability 'laser'"),
        ({"status_limits_s": {"turnout": -1}}, "must be positive"),
        ({"default_command_level": "galaxy"}, "command level 'galaxy'"),
    ],
)
def test_bad_settings(raw: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        config_from_mapping(raw)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        load_config(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        load_config(broken)
