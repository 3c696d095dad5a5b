"""Datums, projections, distances, and the GCJ-02 / BD-09 converters against published pairs.

Reference pairs:

- ``EVILTRANSFORM_PAIRS``: googollee/eviltransform, ``python/test.py`` (``TESTS``: WGS84 and
  GCJ-02 pairs for Shanghai, Shenzhen and Beijing), stored there as (lat, lng).
- ``COORDTRANSFORM_*``: wandergis/coordtransform, ``README.md`` (results of ``wgs84togcj02``,
  ``gcj02tobd09`` and ``bd09togcj02`` for the input ``(116.404, 39.915)``), stored as (lng, lat).
"""

from __future__ import annotations

import math
import random

import pytest

from gis import coords
from gis.errors import InvalidCoordinates

# (wgs_lat, wgs_lng, gcj_lat, gcj_lng)
EVILTRANSFORM_PAIRS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]
COORDTRANSFORM_INPUT = (116.404, 39.915)
COORDTRANSFORM_WGS_TO_GCJ = (116.41024449916938, 39.91640428150164)
COORDTRANSFORM_GCJ_TO_BD = (116.41036949371029, 39.92133699351021)
COORDTRANSFORM_BD_TO_GCJ = (116.39762729119315, 39.90865673957631)

VADUZ = (9.5209, 47.1410)


@pytest.mark.parametrize(("wgs_lat", "wgs_lng", "gcj_lat", "gcj_lng"), EVILTRANSFORM_PAIRS)
def test_wgs84_to_gcj02_matches_eviltransform(
    wgs_lat: float, wgs_lng: float, gcj_lat: float, gcj_lng: float
) -> None:
    lon, lat = coords.wgs84_to_gcj02(wgs_lng, wgs_lat)
    assert lon == pytest.approx(gcj_lng, abs=1e-9)
    assert lat == pytest.approx(gcj_lat, abs=1e-9)


@pytest.mark.parametrize(("wgs_lat", "wgs_lng", "gcj_lat", "gcj_lng"), EVILTRANSFORM_PAIRS)
def test_gcj02_to_wgs84_inverts_eviltransform_pairs_below_1e6(
    wgs_lat: float, wgs_lng: float, gcj_lat: float, gcj_lng: float
) -> None:
    lon, lat = coords.gcj02_to_wgs84(gcj_lng, gcj_lat)
    # The published WGS84 side carries 7 decimals; the inverse must land within 1e-6 deg.
    assert abs(lon - wgs_lng) < 1e-6
    assert abs(lat - wgs_lat) < 1e-6
    assert coords.distance_m(lon, lat, wgs_lng, wgs_lat) < 0.1


def test_wgs84_to_gcj02_matches_coordtransform() -> None:
    lon, lat = coords.wgs84_to_gcj02(*COORDTRANSFORM_INPUT)
    assert (lon, lat) == pytest.approx(COORDTRANSFORM_WGS_TO_GCJ, abs=1e-9)


def test_gcj02_to_bd09_matches_coordtransform() -> None:
    lon, lat = coords.gcj02_to_bd09(*COORDTRANSFORM_INPUT)
    assert (lon, lat) == pytest.approx(COORDTRANSFORM_GCJ_TO_BD, abs=1e-9)


def test_bd09_to_gcj02_refines_the_published_closed_form() -> None:
    lon, lat = coords.bd09_to_gcj02(*COORDTRANSFORM_INPUT)
    # The published value is the closed-form estimate, good to about 1e-6 deg...
    assert abs(lon - COORDTRANSFORM_BD_TO_GCJ[0]) < 1e-6
    assert abs(lat - COORDTRANSFORM_BD_TO_GCJ[1]) < 1e-6
    # ...and ours goes back through the forward formula exactly.
    back = coords.gcj02_to_bd09(lon, lat)
    assert back == pytest.approx(COORDTRANSFORM_INPUT, abs=1e-9)


def test_round_trips_inside_china_are_below_1e6_degrees() -> None:
    rng = random.Random(20261121)
    for _ in range(500):
        lon = rng.uniform(73.5, 134.5)
        lat = rng.uniform(18.5, 53.0)
        glon, glat = coords.wgs84_to_gcj02(lon, lat)
        # The offset is tens to hundreds of metres, never zero inside China.
        assert coords.distance_m(lon, lat, glon, glat) > 1.0
        wlon, wlat = coords.gcj02_to_wgs84(glon, glat)
        assert abs(wlon - lon) < 1e-6
        assert abs(wlat - lat) < 1e-6
        blon, blat = coords.wgs84_to_bd09(lon, lat)
        wlon, wlat = coords.bd09_to_wgs84(blon, blat)
        assert abs(wlon - lon) < 1e-6
        assert abs(wlat - lat) < 1e-6


def test_gcj_offset_is_not_applied_outside_china() -> None:
    assert coords.wgs84_to_gcj02(*VADUZ) == VADUZ
    assert coords.gcj02_to_wgs84(*VADUZ) == VADUZ
    assert not coords.in_china_rectangle(*VADUZ)
    assert coords.in_china_rectangle(116.4, 39.9)


def test_cgcs2000_is_within_a_metre_of_wgs84() -> None:
    lon, lat = coords.wgs84_to_cgcs2000(113.1163, 36.1954)
    assert coords.distance_m(lon, lat, 113.1163, 36.1954) < 1.0
    back = coords.cgcs2000_to_wgs84(lon, lat)
    assert back == pytest.approx((113.1163, 36.1954), abs=1e-8)


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (9.52, 47.14, 32632),  # Liechtenstein
        (11.57, 48.14, 32632),  # Munich
        (113.12, 36.20, 32649),  # Changzhi
        (116.40, 39.90, 32650),  # Beijing
        (-74.0, 40.7, 32618),  # New York
        (151.2, -33.9, 32756),  # Sydney, south
        (5.3, 60.4, 32632),  # Bergen: the Norway exception
        (15.6, 78.2, 32633),  # Longyearbyen: the Svalbard exception
        (179.99, 0.0, 32660),
        (-180.0, 0.0, 32601),
        (0.0, 86.0, 5041),
        (0.0, -85.0, 5042),
    ],
)
def test_metric_crs_for(lon: float, lat: float, epsg: int) -> None:
    assert coords.metric_crs_for(lon, lat) == epsg


def test_metric_projection_measures_metres() -> None:
    epsg = coords.metric_crs_for(*VADUZ)
    x1, y1 = coords.to_metric(*VADUZ, epsg)
    east = coords.destination(*VADUZ, 90.0, 1000.0)
    x2, y2 = coords.to_metric(*east, epsg)
    # UTM scale error near the central meridian is below 0.1 %.
    assert math.hypot(x2 - x1, y2 - y1) == pytest.approx(1000.0, rel=1e-3)
    assert coords.from_metric(x1, y1, epsg) == pytest.approx(VADUZ, abs=1e-9)


def test_distance_and_bearing() -> None:
    # One degree of latitude at 47 N is about 111.2 km on the ellipsoid.
    assert coords.distance_m(9.5, 47.0, 9.5, 48.0) == pytest.approx(111_200, rel=2e-3)
    assert coords.distance_m(*VADUZ, *VADUZ) == 0.0
    assert coords.bearing_deg(9.5, 47.0, 9.5, 48.0) == pytest.approx(0.0, abs=1e-9)
    assert coords.bearing_deg(9.5, 47.0, 9.4, 47.0) == pytest.approx(270.0, abs=0.1)
    north = coords.destination(*VADUZ, 0.0, 500.0)
    assert coords.distance_m(*VADUZ, *north) == pytest.approx(500.0, abs=1e-6)


def test_line_length() -> None:
    a, b, c = VADUZ, coords.destination(*VADUZ, 0.0, 300.0), coords.destination(*VADUZ, 90.0, 0.0)
    assert coords.line_length_m([a, b]) == pytest.approx(300.0, abs=1e-6)
    assert coords.line_length_m([a, b, c]) == pytest.approx(600.0, abs=1e-3)
    assert coords.line_length_m([a]) == 0.0


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        (9.5, 95.0, "latitude 95 is outside -90..90"),
        (9.5, -90.5, "latitude -90.5 is outside -90..90"),
        (181.0, 47.0, "longitude 181 is outside -180..180"),
        (float("nan"), 47.0, "must be numbers"),
    ],
)
def test_out_of_range_is_a_clear_error(lon: float, lat: float, message: str) -> None:
    with pytest.raises(InvalidCoordinates, match=message):
        coords.distance_m(lon, lat, 9.5, 47.1)
    with pytest.raises(InvalidCoordinates, match=message):
        coords.wgs84_to_gcj02(lon, lat)
    with pytest.raises(InvalidCoordinates, match=message):
        coords.metric_crs_for(lon, lat)
