"""Cordon and evacuation areas: a circle of a distance around the incident, buffered in the
region's metric projection (never in degrees) and returned in WGS84 (pure)."""

from __future__ import annotations

from shapely.geometry import Point, Polygon
from shapely.ops import transform

from gis.coords import from_metric, to_metric

#: segments per quarter circle: about a metre off at 2 km
QUARTER_SEGMENTS = 16


def circle_around(lon: float, lat: float, metres: float, epsg: int) -> Polygon:
    """The area within ``metres`` of the point, measured in projection ``epsg``."""
    x, y = to_metric(lon, lat, epsg)
    metric = Point(x, y).buffer(metres, quad_segs=QUARTER_SEGMENTS)
    wgs84 = transform(lambda xs, ys: _back(xs, ys, epsg), metric)
    assert isinstance(wgs84, Polygon)
    return wgs84


def _back(xs: object, ys: object, epsg: int) -> tuple[list[float], list[float]]:
    lons, lats = [], []
    for x, y in zip(xs, ys, strict=True):  # type: ignore[call-overload]
        lon, lat = from_metric(float(x), float(y), epsg)
        lons.append(lon)
        lats.append(lat)
    return lons, lats
