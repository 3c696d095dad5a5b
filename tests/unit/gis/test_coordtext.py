"""Coordinate text: every accepted form, the texts that are not coordinates, and clear errors."""

from __future__ import annotations

import pytest

from gis.coordtext import MAX_TEXT_LENGTH, parse_coordinates
from gis.errors import InvalidCoordinates

# 47°08'24" = 47.14, 9°31'12" = 9.52
LAT, LON = 47.14, 9.52


@pytest.mark.parametrize(
    "text",
    [
        "47.14, 9.52",
        "47.14 9.52",
        "47.14,9.52",
        "47.14;9.52",
        "  47.14 ,  9.52  ",
        "47.140000, 9.520000",
        "+47.14, +9.52",
        "geo:47.14,9.52",
        "47°08'24\"N 9°31'12\"E",
        "47°08′24″N 9°31′12″E",
        "47º08’24”N 9º31’12”E",
        "47°08'24''N 9°31'12''E",
        "47° 08' 24\" N, 9° 31' 12\" E",
        "47°08'24\" 9°31'12\"",
        "N47°08'24\" E9°31'12\"",
        "47 08 24 N 9 31 12 E",
        "47 08 24N 9 31 12E",
        "47.14N 9.52E",
        "47.14n 9.52e",
        "47.14 N, 9.52 E",
        "47.14° N, 9.52° E",
        "N47.14 E9.52",
        "N 47.14, E 9.52",
        "9.52E 47.14N",
        "E9.52 N47.14",
        "47°08.4'N 9°31.2'E",
        "N 47° 08.400 E 009° 31.200",
        "N47 08.4 E9 31.2",
        "lat 47.14 lon 9.52",
        "lat: 47.14, lng: 9.52",
        "lon=9.52, lat=47.14",
        "Latitude 47.14 Longitude 9.52",
        "北纬47.14 东经9.52",
        "北纬47.14，东经9.52",
        "北纬47度8分24秒，东经9度31分12秒",
        "东经9.52 北纬47.14",
    ],
)
def test_forms_of_the_same_point(text: str) -> None:
    result = parse_coordinates(text)
    assert result is not None, text
    lat, lon = result
    assert lat == pytest.approx(LAT, abs=1e-9)
    assert lon == pytest.approx(LON, abs=1e-9)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-33.8568, 151.2153", (-33.8568, 151.2153)),
        (
            "33°51'24.5\"S 151°12'55.1\"E",
            (-(33 + 51 / 60 + 24.5 / 3600), 151 + 12 / 60 + 55.1 / 3600),
        ),
        ("S33.8568 E151.2153", (-33.8568, 151.2153)),
        ("40.7128N 74.0060W", (40.7128, -74.006)),
        ("40°42.768'N 74°0.36'W", (40.7128, -74.006)),
        ("−22.9 −43.2", (-22.9, -43.2)),
        ("0.0, 0.0", (0.0, 0.0)),
        ("90.0, 180.0", (90.0, 180.0)),
        ("-90.0, -180.0", (-90.0, -180.0)),
        ("西经74.006 北纬40.7128", (40.7128, -74.006)),
        ("南纬33.8568 东经151.2153", (-33.8568, 151.2153)),
    ],
)
def test_hemispheres_and_signs(text: str, expected: tuple[float, float]) -> None:
    result = parse_coordinates(text)
    assert result is not None
    assert result == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Landstrasse 12",
        "Städtle 35, 9490 Vaduz",
        "12 5",
        "47 9",
        "9490 Vaduz",
        "52-58",
        "12a",
        "47.14",
        "47 8 9",
        "A13 Ausfahrt 4",
        "山西省长治市潞州区英雄中路123号",
        "47.14, 9.52, 3.1",
        "47.14.2 9.52",
        "1234.5 9.52",
        "47,14 9,52",
        "x" * (MAX_TEXT_LENGTH + 1),
        "47.14, 9.52" + " " * MAX_TEXT_LENGTH,
    ],
)
def test_not_coordinates(text: str) -> None:
    assert parse_coordinates(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("95.0, 9.52", "latitude 95 is outside -90..90"),
        ("-91.5 9.52", "latitude -91.5 is outside -90..90"),
        ("95N 9E", "latitude 95 is outside -90..90"),
        ("47.14, 190.5", "longitude 190.5 is outside -180..180"),
        ("47.14N 181.0E", "longitude 181 is outside -180..180"),
        ("lat 95.0 lon 9.5", "latitude 95 is outside -90..90"),
        ("47°75'N 9°31'E", "minutes 75 must be below 60"),
        ("47°08'61\"N 9°31'12\"E", "seconds 61 must be below 60"),
        ("47.14N 9.52N", "two latitudes"),
        ("9.52E 47.14W", "two longitudes"),
        ("lon 9.5 lon 47.1", "two longitudes"),
        ("-47.14N 9.52E", "give either a sign or a hemisphere"),
    ],
)
def test_impossible_values_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidCoordinates, match=message):
        parse_coordinates(text)


def test_the_error_kind_maps_to_a_4xx() -> None:
    with pytest.raises(InvalidCoordinates) as caught:
        parse_coordinates("95.0, 9.52")
    assert caught.value.kind == "invalid"
