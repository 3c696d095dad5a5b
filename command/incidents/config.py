"""Incident and dispatch configuration from a JSON file (taxonomy, run cards, windows, timers,
targets), so a centre adapts them without code. Anything left out keeps its default.

```json
{
  "taxonomy": {"fire": {"zh-CN": "火灾", "en": "Fire", "priority": 1, "compatible": ["hazmat"]}},
  "run_cards": {"fire": {"engine": 2, "ladder": 1}},
  "duplicate_window": {"distance_m": 300, "minutes": 30},
  "status_limits_s": {"not_acknowledged": 60, "turnout": 80},
  "targets": [{"name": "local", "interval": "travel", "limit_s": 480, "share": 0.9,
               "categories": ["medical"]}],
  "default_command_level": "district",
  "default_response_level": "IV"
}
```
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from command.errors import InvalidInput
from command.incidents.domain import CommandLevel, DuplicateWindow, ResponseLevel, Taxonomy
from command.incidents.response_times import DEFAULT_TARGETS, Target, targets_from_mapping
from dispatch.errors import DispatchError
from dispatch.runcards import RunCards
from dispatch.timers import StatusLimits


@dataclass(frozen=True)
class IncidentConfig:
    """What a command centre configures about incidents and dispatch."""

    taxonomy: Taxonomy = field(default_factory=Taxonomy.default)
    run_cards: RunCards = field(default_factory=RunCards.default)
    duplicate_window: DuplicateWindow = field(default_factory=DuplicateWindow)
    default_command_level: CommandLevel = CommandLevel.DISTRICT
    default_response_level: ResponseLevel = ResponseLevel.IV
    status_limits: StatusLimits = field(default_factory=StatusLimits)
    targets: tuple[Target, ...] = DEFAULT_TARGETS


KEYS = frozenset(
    {
        "taxonomy",
        "run_cards",
        "duplicate_window",
        "status_limits_s",
        "targets",
        "default_command_level",
        "default_response_level",
    }
)


def config_from_mapping(raw: Mapping[str, Any]) -> IncidentConfig:
    unknown = set(raw) - KEYS
    if unknown:
        raise InvalidInput(
            f"unknown incident setting {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(KEYS))}",
            code="settings.unknown_key",
            unknown=sorted(unknown),
            known=sorted(KEYS),
        )
    base = IncidentConfig()
    try:
        taxonomy = Taxonomy.from_mapping(raw["taxonomy"]) if "taxonomy" in raw else base.taxonomy
        run_cards = (
            RunCards.from_mapping(raw["run_cards"]) if "run_cards" in raw else base.run_cards
        )
        limits = (
            StatusLimits(dict(raw["status_limits_s"]))
            if "status_limits_s" in raw
            else base.status_limits
        )
    except DispatchError as exc:
        raise InvalidInput(exc.message, code=exc.code, **exc.params) from exc
    window = (
        DuplicateWindow(**raw["duplicate_window"])
        if "duplicate_window" in raw
        else base.duplicate_window
    )
    for code in run_cards.cards:
        if code not in taxonomy.types:
            raise InvalidInput(
                f"run card for {code}, which is not an incident type",
                code="settings.run_card_type_unknown",
                type=code,
            )
    return IncidentConfig(
        taxonomy=taxonomy,
        run_cards=run_cards,
        duplicate_window=window,
        default_command_level=CommandLevel.parse(raw.get("default_command_level", "district")),
        default_response_level=ResponseLevel.parse(raw.get("default_response_level", "IV")),
        status_limits=limits,
        targets=targets_from_mapping(raw["targets"]) if "targets" in raw else base.targets,
    )


def load_config(path: Path | None) -> IncidentConfig:
    """The configuration in ``path`` (JSON), or the defaults when there is no file."""
    if path is None:
        return IncidentConfig()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(
            f"cannot read the incident settings {path}: {exc.strerror}",
            code="settings.unreadable",
            file=str(path),
            reason=exc.strerror,
        ) from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path} is not valid JSON: line {exc.lineno}: {exc.msg}",
            code="settings.not_json",
            file=str(path),
            line=exc.lineno,
            reason=exc.msg,
        ) from exc
    if not isinstance(raw, dict):
        raise InvalidInput(
            f"{path} must hold a JSON object", code="settings.not_object", file=str(path)
        )
    return config_from_mapping(raw)
