"""Conditions hold or not, with the values compared; narrative words tolerate inflection."""

from __future__ import annotations

from datetime import datetime

import pytest

from plans.conditions import NarrativeText, evaluate, in_hours, stem, type_covers
from plans.model import (
    CountCondition,
    HazmatCondition,
    LevelCondition,
    NearCondition,
    TimeCondition,
    TypesCondition,
    WordsCondition,
)
from tests.support.plan_builders import situation


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("trapped", "trap"),
        ("trapping", "traps"),
        ("injuries", "injury"),
        ("burning", "burned"),
        ("Collapsed", "collapse"),
    ],
)
def test_inflected_forms_share_a_stem(a: str, b: str) -> None:
    assert stem(a) == stem(b)


def test_words_in_english_and_chinese() -> None:
    text = NarrativeText.of("Two people TRAPPED in the car; 司机被困，车辆起火")
    assert text.contains("trap")
    assert text.contains("trapping")
    assert text.contains("被困")
    assert not text.contains("fire")
    assert not text.contains("爆炸")
    words = WordsCondition("words", required=False, weight=2.0, words=("trapped", "pinned"))
    result = evaluate(
        words, situation(narrative="driver is trapped"), NarrativeText.of("driver is trapped")
    )
    assert (result.held, result.actual) == (True, ["trapped"])


def test_types_cover_their_subtypes_only() -> None:
    assert type_covers("fire", "fire.structure")
    assert not type_covers("fire", "firework")
    c = TypesCondition("incident_types", codes=("fire",))
    r = evaluate(c, situation(type_code="medical"), NarrativeText.of(""))
    assert (r.held, r.expected, r.actual) == (False, ["fire"], "medical")


def test_counts_hazmat_and_level() -> None:
    s = situation(casualties=4, hazmat=True, response_level=2)
    text = NarrativeText.of("")
    assert evaluate(CountCondition("casualties", at_least=4), s, text).held
    assert not evaluate(CountCondition("trapped", at_least=1), s, text).held
    assert evaluate(HazmatCondition("hazmat"), s, text).held
    assert evaluate(LevelCondition("response_level", at_least=2), s, text).held
    assert not evaluate(LevelCondition("response_level", at_least=1), s, text).held


def test_near_a_place_compares_metres() -> None:
    c = NearCondition("near", place="Landesspital", within_m=500, lon=9.5215, lat=47.1415)
    r = evaluate(c, situation(), NarrativeText.of(""))
    assert r.held
    assert r.actual.endswith(" m")
    far = evaluate(c, situation(lon=9.55, lat=47.2), NarrativeText.of(""))
    assert not far.held


def test_time_windows_wrap_midnight() -> None:
    assert in_hours(23, 22, 6)
    assert in_hours(2, 22, 6)
    assert not in_hours(12, 22, 6)
    night_weekend = TimeCondition("time", hours=(22, 6), weekdays=frozenset({5, 6}))
    saturday_night = situation(local_time=datetime(2026, 12, 5, 23, 30))
    monday_night = situation(local_time=datetime(2026, 12, 7, 23, 30))
    assert evaluate(night_weekend, saturday_night, NarrativeText.of("")).held
    assert not evaluate(night_weekend, monday_night, NarrativeText.of("")).held
