"""Run cards changed at run time are laid over the configured ones: an override replaces its
code's card only, serves the children without a card of their own, and the defaults stay."""

from __future__ import annotations

from dispatch.runcards import RunCards
from dispatch.units import Capability

ENGINE, LADDER = Capability.ENGINE, Capability.LADDER


def test_an_override_replaces_its_code_and_serves_its_children() -> None:
    defaults = RunCards.from_mapping({"fire": {"engine": 2}, "fire.vehicle": {"engine": 1},
                                      "crime": {"police_patrol": 2}})
    cards = defaults.with_overrides({"fire": {ENGINE: 3, LADDER: 1}})
    assert cards.for_type("fire") == {ENGINE: 3, LADDER: 1}
    assert cards.for_type("fire.outdoor") == {ENGINE: 3, LADDER: 1}  # no card of its own
    assert cards.for_type("fire.vehicle") == {ENGINE: 1}  # its own card stays
    assert defaults.for_type("fire") == {ENGINE: 2}  # the defaults are left as they were
    assert cards.applying("fire.outdoor") == "fire"
    assert cards.applying("fire.vehicle") == "fire.vehicle"
    assert cards.applying("flood") is None
