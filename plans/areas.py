"""Cordon and evacuation areas: a circle of a distance around the incident, buffered in the
region's metric projection (never in degrees) and returned in WGS84 (pure)."""

from __future__ import annotations

from shapely.geometry import Point, Polygon

from gis.coords import from_metric, to_metric

#: segments per quarter circle: the polygon's area is within 0.2 % of the circle's
QUARTER_SEGMENTS = 16


def circle_around(lon: float, lat: float, metres: float, epsg: int) -> Polygon:
    """The area within ``metres`` of the point, measured in projection ``epsg``."""
    x, y = to_metric(lon, lat, epsg)
    metric = Point(x, y).buffer(metres, quad_segs=QUARTER_SEGMENTS)
    return Polygon([from_metric(px, py, epsg) for px, py in metric.exterior.coords])
