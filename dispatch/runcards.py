"""Run cards: the default units (capabilities in counts) per incident type code (pure).

Incident type codes are dotted (``fire.structure``); a card for ``fire`` serves every ``fire.*``
type without its own card. The cards are configuration: ``RunCards.from_mapping`` reads the same
shape as ``DEFAULT_RUN_CARDS`` (type code -> capability name -> count). Cards changed at run
time are stored (``dispatch.store``) and laid over the configured ones (``with_overrides``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dispatch.errors import InvalidInput
from dispatch.recommend import validate_requirements
from dispatch.units import Capability, parse_capability

DEFAULT_RUN_CARDS: dict[str, dict[str, int]] = {
    "fire": {"engine": 2, "ladder": 1, "command_vehicle": 1},
    "fire.structure": {"engine": 2, "ladder": 1, "ambulance_bls": 1, "command_vehicle": 1},
    "fire.vehicle": {"engine": 1},
    "fire.outdoor": {"engine": 1, "tanker": 1},
    "medical": {"ambulance_bls": 1},
    "medical.cardiac_arrest": {"ambulance_als": 1, "engine": 1},
    "medical.serious": {"ambulance_als": 1},
    "traffic_collision": {"police_patrol": 1, "ambulance_bls": 1, "engine": 1},
    "traffic_collision.entrapment": {
        "police_patrol": 1,
        "ambulance_als": 1,
        "engine": 1,
        "heavy_rescue": 1,
    },
    "crime": {"police_patrol": 2},
    "hazmat": {"hazmat": 1, "engine": 2, "ambulance_bls": 1, "command_vehicle": 1},
    "flood": {"water_rescue": 1, "engine": 1},
    "rescue": {"heavy_rescue": 1, "engine": 1, "ambulance_bls": 1},
    "rescue.water": {"water_rescue": 1, "ambulance_bls": 1},
    "public_health": {"public_health": 1, "ambulance_bls": 1},
}


@dataclass(frozen=True)
class RunCards:
    """Requirements per incident type code, with fallback to the parent code."""

    cards: Mapping[str, Mapping[Capability, int]]

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Mapping[str, int]]) -> RunCards:
        cards: dict[str, dict[Capability, int]] = {}
        for code, reqs in raw.items():
            if not code:
                raise InvalidInput(
                    "a run card needs an incident type code", code="run_card.type_missing"
                )
            cards[code] = validate_requirements(
                {parse_capability(cap): int(count) for cap, count in reqs.items()}
            )
        return cls(cards)

    @classmethod
    def default(cls) -> RunCards:
        return cls.from_mapping(DEFAULT_RUN_CARDS)

    def with_overrides(self, overrides: Mapping[str, Mapping[Capability, int]]) -> RunCards:
        """These cards with ``overrides`` (stored at run time) in place of their codes' cards."""
        return RunCards({**self.cards, **{code: dict(card) for code, card in overrides.items()}})

    def applying(self, type_code: str) -> str | None:
        """The code whose card serves ``type_code``: its own or its nearest parent's."""
        code = type_code
        while code:
            if code in self.cards:
                return code
            code = code.rpartition(".")[0]
        return None

    def for_type(self, type_code: str) -> dict[Capability, int]:
        """The card of ``type_code`` or of its nearest parent; empty when there is none."""
        code = self.applying(type_code)
        return {} if code is None else dict(self.cards[code])
