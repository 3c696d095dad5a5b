"""Coordinates typed or pasted as text: decimal, degrees-minutes-seconds, decimal minutes.

:func:`parse_coordinates` reads the forms callers, devices and call-takers use and returns
``(lat, lon)`` in WGS84 decimal degrees:

- decimal pairs: ``47.14, 9.52``, ``47.14 9.52``, ``-33.86;151.21``, ``geo:47.14,9.52``;
- hemisphere letters before or after: ``47.14N 9.52E``, ``N47.14 E9.52``, ``9.52E 47.14N``;
- degrees, minutes, seconds: ``47°08'24"N 9°31'12"E`` (also with ``′ ″``, ``º``, ``''``,
  or spaces instead of the marks when hemisphere letters are given: ``47 08 24 N 9 31 12 E``);
- degrees and decimal minutes: ``47°08.4'N 9°31.2'E``, ``N 47° 08.400 E 009° 31.200``;
- labels: ``lat 47.14 lon 9.52``, ``lon=9.52 lat=47.14``;
- Chinese marks: ``北纬47.14 东经9.52``, ``北纬47度8分24秒，东经9度31分12秒``.

Text that is not a coordinate pair (an address, a house number) gives ``None``. A coordinate
pair with impossible values (latitude 95, 75 minutes) raises :class:`InvalidCoordinates` with a
message naming the problem. Bare decimal pairs are read latitude first, and need a decimal point
in both numbers, so ``12 5`` stays an address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gis.coords import check_lon_lat
from gis.errors import InvalidCoordinates

MAX_TEXT_LENGTH = 200

_REPLACEMENTS = (
    ("北纬", " N"),
    ("南纬", " S"),
    ("东经", " E"),
    ("西经", " W"),
    ("东經", " E"),
    ("西經", " W"),
    ("度", "°"),
    ("分", "'"),
    ("秒", '"'),
    ("，", ","),
    ("；", ";"),
    ("º", "°"),
    ("˚", "°"),
    ("′", "'"),
    ("’", "'"),
    ("‘", "'"),
    ("´", "'"),
    ("`", "'"),
    ("″", '"'),
    ("”", '"'),
    ("“", '"'),
    ("''", '"'),
    ("−", "-"),
    ("–", "-"),
    ("\u00a0", " "),
)

_NUMBER = r"\d{1,3}(?:\.\d+)?(?![\d.])"


def _component(i: int) -> str:
    return (
        rf"(?:(?P<pre{i}>[NSEW])\s*)?"
        rf"(?P<sign{i}>[-+])?\s*"
        rf"(?P<d{i}>{_NUMBER})\s*(?P<dsym{i}>°)?"
        rf"(?:\s*(?P<m{i}>\d{{1,2}}(?:\.\d+)?(?![\d.]))\s*(?P<msym{i}>')?"
        rf"(?:\s*(?P<s{i}>\d{{1,2}}(?:\.\d+)?(?![\d.]))\s*(?P<ssym{i}>\")?)?)?"
        rf"(?(pre{i})|(?:\s*(?P<post{i}>[NSEW]))?)"
    )


_PAIR = re.compile(rf"^\s*(?:GEO:)?\s*{_component(1)}\s*(?:[,;/]\s*)?{_component(2)}\s*$")
_LABEL = r"(?P<label{i}>LATITUDE|LAT|LONGITUDE|LONG|LON|LNG)\s*[:=]?\s*"
_LABELLED = re.compile(
    r"^\s*"
    + _LABEL.format(i=1)
    + rf"(?P<v1>[-+]?{_NUMBER})\s*[,;/]?\s*"
    + _LABEL.format(i=2)
    + rf"(?P<v2>[-+]?{_NUMBER})\s*$"
)


@dataclass(frozen=True, slots=True)
class _Component:
    value: float
    axis: str | None  # "lat", "lon" or None when the text does not say
    marked: bool  # written with degree marks or hemisphere letters


def _normalise(text: str) -> str:
    for old, new in _REPLACEMENTS:
        text = text.replace(old, new)
    return text.upper()


def _read_component(match: re.Match[str], i: int) -> _Component | None:
    g = match.groupdict()
    pre, post = g[f"pre{i}"], g[f"post{i}"]
    sign = g[f"sign{i}"]
    deg_raw, min_raw, sec_raw = g[f"d{i}"], g[f"m{i}"], g[f"s{i}"]
    marked_symbols = bool(g[f"dsym{i}"] or g[f"msym{i}"] or g[f"ssym{i}"])
    if pre and post:
        return None
    hemisphere = pre or post
    if min_raw is not None and not (marked_symbols or hemisphere):
        return None  # "47 8 9": three bare numbers are not a coordinate
    if min_raw is not None and "." in deg_raw:
        return None
    if sec_raw is not None and "." in min_raw:
        return None
    degrees = float(deg_raw)
    value = degrees
    if min_raw is not None:
        minutes = float(min_raw)
        if minutes >= 60.0:
            raise InvalidCoordinates(
                f"minutes {min_raw} must be below 60",
                code="point.minutes_range",
                minutes=min_raw,
                limit=60,
            )
        value += minutes / 60.0
    if sec_raw is not None:
        seconds = float(sec_raw)
        if seconds >= 60.0:
            raise InvalidCoordinates(
                f"seconds {sec_raw} must be below 60",
                code="point.seconds_range",
                seconds=sec_raw,
                limit=60,
            )
        value += seconds / 3600.0
    if hemisphere and sign == "-":
        raise InvalidCoordinates(
            f"'-{deg_raw}' with hemisphere {hemisphere}: give either a sign or a hemisphere",
            code="point.sign_and_hemisphere",
            degrees=deg_raw,
            hemisphere=hemisphere,
        )
    if sign == "-" or hemisphere in ("S", "W"):
        value = -value
    axis = None
    if hemisphere in ("N", "S"):
        axis = "lat"
    elif hemisphere in ("E", "W"):
        axis = "lon"
    return _Component(value=value, axis=axis, marked=marked_symbols or hemisphere is not None)


def _check(lat: float, lon: float) -> tuple[float, float]:
    check_lon_lat(lon, lat)
    return lat, lon


_PLURAL = {"lat": "latitudes", "lon": "longitudes"}


def _axis_twice(axis: str) -> InvalidCoordinates:
    return InvalidCoordinates(
        f"two {_PLURAL[axis]} given; need one latitude and one longitude",
        code="point.axis_twice",
        axis=axis,
    )


def _assign(first: _Component, second: _Component) -> tuple[float, float]:
    axes = (first.axis, second.axis)
    if axes[0] is not None and axes[0] == axes[1]:
        raise _axis_twice(axes[0])
    if axes[0] == "lon" or axes[1] == "lat":
        return _check(second.value, first.value)
    return _check(first.value, second.value)


def _labelled(text: str) -> tuple[float, float] | None:
    match = _LABELLED.match(text)
    if match is None:
        return None
    first_is_lat = match["label1"].startswith("LAT")
    second_is_lat = match["label2"].startswith("LAT")
    if first_is_lat == second_is_lat:
        raise _axis_twice("lat" if first_is_lat else "lon")
    v1, v2 = float(match["v1"]), float(match["v2"])
    return _check(v1, v2) if first_is_lat else _check(v2, v1)


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """``(lat, lon)`` from coordinate text, ``None`` when the text is not coordinates.

    Raises :class:`InvalidCoordinates` when the text is a coordinate pair with values out of
    range (``latitude 95 is outside -90..90``) or inconsistent (two latitudes, 75 minutes).
    """
    if not text or len(text) > MAX_TEXT_LENGTH:
        return None
    normal = _normalise(text)
    labelled = _labelled(normal)
    if labelled is not None:
        return labelled
    match = _PAIR.match(normal)
    if match is None:
        return None
    first = _read_component(match, 1)
    second = _read_component(match, 2)
    if first is None or second is None:
        return None
    bare = not (first.marked or second.marked)
    if bare and ("." not in match["d1"] or "." not in match["d2"]):
        # Bare numbers must both be decimals, so house numbers and postcodes stay addresses.
        return None
    return _assign(first, second)
