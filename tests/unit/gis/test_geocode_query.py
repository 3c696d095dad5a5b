"""Reading typed queries: numbers, ranges, suffixes, place words, intersections, bad input."""

from __future__ import annotations

import pytest

from gis.errors import InvalidQueryError
from gis.geocode.query import check_query, parse_housenumber, parse_query


def test_german_order_with_city() -> None:
    first = parse_query("Feldstrasse 34, Triesen").readings[0]
    assert first.street_words == ("feldstrasse",)
    assert first.housenumber is not None
    assert first.housenumber.key == "34"
    assert first.context_words == ("triesen",)


def test_number_first_with_postcode() -> None:
    first = parse_query("12 Rue du 4 Septembre, 75002 Paris").readings[0]
    assert first.street_words == ("rue", "du", "4", "septembre")
    assert first.housenumber is not None
    assert first.housenumber.base == 12
    assert first.postcode == "75002"
    assert first.context_words == ("paris",)


def test_city_without_comma_is_one_of_the_readings() -> None:
    readings = parse_query("Feldstrasse 34 Triesen").readings
    assert readings[0].street_words == ("feldstrasse",)
    assert readings[0].context_words == ("triesen",)


def test_range_and_suffix() -> None:
    hn = parse_query("Neuhauser Straße 52-58").readings[0].housenumber
    assert hn is not None
    assert (hn.base, hn.range_end) == (52, 58)
    hn = parse_query("Brienner Str. 12 a").readings[0].housenumber
    assert hn is not None
    assert (hn.key, hn.base, hn.suffix) == ("12a", 12, "a")
    assert parse_housenumber("Dorf") is None


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Landstrasse / Bahnhofstrasse", ("Landstrasse", "Bahnhofstrasse")),
        ("Landstrasse & Bahnhofstrasse", ("Landstrasse", "Bahnhofstrasse")),
        ("Landstrasse and Bahnhofstrasse", ("Landstrasse", "Bahnhofstrasse")),
        ("Landstrasse und Bahnhofstrasse", ("Landstrasse", "Bahnhofstrasse")),
        ("英雄中路与太行街交叉口", ("英雄中路", "太行街")),
    ],
)
def test_intersections(text: str, parts: tuple[str, str]) -> None:
    assert parse_query(text).intersection == parts


def test_house_number_with_slash_is_no_intersection() -> None:
    assert parse_query("Landstrasse 12/1").intersection is None


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_000])
def test_bad_queries_are_refused_clearly(text: str) -> None:
    with pytest.raises(InvalidQueryError) as err:
        check_query(text)
    assert "query" in str(err.value)


def test_non_text_is_refused() -> None:
    with pytest.raises(InvalidQueryError):
        check_query(42)
