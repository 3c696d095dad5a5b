"""A unit's track for playback: its fixes as GeoJSON, and simplified for the map.

Simplification keeps the shape within ``tolerance_m`` (Douglas-Peucker on a local metric
projection) and always keeps the first and last fix and every stop, so that a review sees where
a unit waited, not only where it drove.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shapely import LineString

_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQUATOR = 111_320.0


@dataclass(frozen=True, slots=True)
class TrackPoint:
    lon: float
    lat: float
    at: datetime
    speed_mps: float | None = None
    jump: bool = False


def _metric(points: Sequence[TrackPoint]) -> list[tuple[float, float]]:
    lat0 = sum(p.lat for p in points) / len(points)
    kx = _M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))
    return [(p.lon * kx, p.lat * _M_PER_DEG_LAT) for p in points]


def simplify(
    points: Sequence[TrackPoint], tolerance_m: float = 10.0, stop_s: float = 60.0
) -> list[TrackPoint]:
    """The points that keep the track's shape within ``tolerance_m``, with every stop longer
    than ``stop_s`` (consecutive fixes within ``tolerance_m`` of each other) kept at both ends.
    Flagged jumps are left out."""
    good = [p for p in points if not p.jump]
    if len(good) <= 2:
        return good
    xy = _metric(good)
    keep = {0, len(good) - 1}
    line = LineString(xy)
    simplified = line.simplify(tolerance_m, preserve_topology=False)
    wanted = set(simplified.coords)
    keep |= {i for i, c in enumerate(xy) if c in wanted}
    start = 0
    for i in range(1, len(good) + 1):
        moved = i == len(good) or math.dist(xy[i], xy[start]) > tolerance_m
        if moved:
            if (good[i - 1].at - good[start].at).total_seconds() >= stop_s:
                keep |= {start, i - 1}
            start = i
    return [good[i] for i in sorted(keep)]


def feature(unit_id: str, points: Sequence[TrackPoint]) -> dict[str, Any]:
    """A track as a GeoJSON Feature: a LineString with the times of its points."""
    return {
        "type": "Feature",
        "properties": {
            "unit_id": unit_id,
            "times": [p.at.isoformat() for p in points],
            "from": points[0].at.isoformat() if points else None,
            "to": points[-1].at.isoformat() if points else None,
        },
        "geometry": {
            "type": "LineString",
            "coordinates": [[round(p.lon, 7), round(p.lat, 7)] for p in points],
        },
    }
