"""Scoring: name similarity, context agreement, the combined score."""

from __future__ import annotations

from gis.geocode import scoring


def test_one_typo_costs_less_in_a_long_name() -> None:
    long_typo = scoring.name_similarity("oberguferstasse", "oberguferstrasse")
    short_typo = scoring.name_similarity("drof", "dorf")
    assert 1.0 > long_typo > 0.9
    assert short_typo < long_typo
    assert scoring.name_similarity("tristelsrtasse", "tristelstrasse") > 0.9  # a swap is one edit


def test_edit_budget_grows_with_length() -> None:
    assert scoring.max_edits(2) == 0
    assert scoring.max_edits(3) == 1
    assert scoring.max_edits(5) == 1
    assert scoring.max_edits(10) == 2
    assert scoring.max_edits(20) == 3


def test_context_agreement() -> None:
    known = {"triesen", "vaduz", "9495"}
    assert scoring.context_score(["triesen"], {"triesen"}, known) == 1.0
    assert scoring.context_score(["triesen"], {"vaduz"}, known) == 0.0
    assert scoring.context_score([], {"vaduz"}, known) == scoring.CONTEXT_NEUTRAL
    # a word naming no place lowers the score below neutral
    assert scoring.context_score(["qwerty"], {"vaduz"}, known) < scoring.CONTEXT_NEUTRAL


def test_found_address_beats_street_fallback_and_city_decides_twins() -> None:
    exact = scoring.combine(1.0, scoring.NUMBER_EXACT, scoring.CONTEXT_NEUTRAL)
    street = scoring.combine(1.0, scoring.NUMBER_STREET_ONLY, scoring.CONTEXT_NEUTRAL)
    typo_with_number = scoring.combine(0.93, scoring.NUMBER_EXACT, scoring.CONTEXT_NEUTRAL)
    assert exact > typo_with_number > street
    assert scoring.combine(1.0, 1.0, 1.0) > scoring.combine(1.0, 1.0, 0.0)
    assert 0.0 <= scoring.combine(0.0, 0.0, -1.0, rank=9, unused=3) <= 1.0
