"""A unit's track for playback: the window asked for, its fixes, and simplified for the map.

Simplification keeps the shape within ``tolerance_m`` (Douglas-Peucker, shapely, in the region's
metric projection: a tolerance in degrees would mean different distances east and north) and
always keeps the first and last fix and every stop, so that a review sees where a unit waited,
not only where it drove. Flagged jumps are shown as points but left out of the lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shapely import LineString

from dispatch.errors import InvalidInput
from gis.coords import WGS84, transformer

_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQUATOR = 111_320.0


@dataclass(frozen=True, slots=True)
class TrackPoint:
    lon: float
    lat: float
    at: datetime
    speed_mps: float | None = None
    jump: bool = False
    heading_deg: float | None = None
    accuracy_m: float | None = None
    source: str = ""


#: the times a playback may ask for (no fix is older than GPS; arithmetic stays in range)
EARLIEST = datetime(1980, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
#: the most a simplification may move a track (beyond, a map shows no track at all)
MAX_TOLERANCE_M = 1_000.0


def _metric(points: Sequence[TrackPoint], epsg: int | None) -> list[tuple[float, float]]:
    if epsg is not None:
        lons, lats = [p.lon for p in points], [p.lat for p in points]
        xs, ys = transformer(WGS84, epsg).transform(lons, lats)
        return [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
    lat0 = sum(p.lat for p in points) / len(points)
    kx = _M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))
    return [(p.lon * kx, p.lat * _M_PER_DEG_LAT) for p in points]


def simplify(
    points: Sequence[TrackPoint],
    tolerance_m: float = 10.0,
    stop_s: float = 60.0,
    epsg: int | None = None,
) -> list[TrackPoint]:
    """The points that keep the track's shape within ``tolerance_m``, with every stop longer
    than ``stop_s`` (consecutive fixes within ``tolerance_m`` of each other) kept at both ends.
    Flagged jumps are left out. ``epsg`` is the metric projection to measure in (the region's);
    without it, a local equirectangular approximation around the track."""
    good = [p for p in points if not p.jump]
    if len(good) <= 2 or tolerance_m <= 0:
        return good
    xy = _metric(good, epsg)
    keep = {0, len(good) - 1}
    line = LineString(xy)
    simplified = line.simplify(tolerance_m, preserve_topology=False)
    # The simplified line is a subsequence of the track: match it in order, so that a place
    # the unit stood at many times is kept once, not at every fix there.
    wanted = list(simplified.coords)
    j = 0
    for i, c in enumerate(xy):
        if j < len(wanted) and c == wanted[j]:
            keep.add(i)
            j += 1
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


# --- the window of a playback ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """Device times ``since <= t < until``."""

    since: datetime
    until: datetime


def window(
    since: datetime | None,
    until: datetime | None,
    now: datetime,
    max_hours: float,
    default_hours: float = 24.0,
) -> Window:
    """The window asked for (by default the last ``default_hours``), or :class:`InvalidInput`
    naming what is wrong: a time without a zone, an end before the start, a window longer than
    ``max_hours``."""
    for field, value in (("since", since), ("until", until)):
        if value is None:
            continue
        if value.tzinfo is None:
            raise InvalidInput(
                f"{field} needs a time zone (for example {value.isoformat()}Z)",
                code="track.time_zone_missing",
                field=field,
                time=value.isoformat(),
            )
        if not EARLIEST <= value <= LATEST:
            raise InvalidInput(
                f"{field} {value.isoformat()} is outside the times a playback can ask for",
                code="track.time_out_of_range",
                field=field,
                time=value.isoformat(),
                earliest=EARLIEST.isoformat(),
                latest=LATEST.isoformat(),
            )
    end = until or now
    start = since or end - timedelta(hours=min(default_hours, max_hours))
    if start >= end:
        raise InvalidInput(
            f"the window starts ({start.isoformat()}) at or after its end ({end.isoformat()})",
            code="track.window_reversed",
            since=start.isoformat(),
            until=end.isoformat(),
        )
    hours = (end - start).total_seconds() / 3600
    if hours > max_hours:
        raise InvalidInput(
            f"the window is {hours:g} hours long; at most {max_hours:g} hours can be played back "
            "at once",
            code="track.window_too_long",
            since=start.isoformat(),
            until=end.isoformat(),
            hours=round(hours, 3),
            max_hours=max_hours,
        )
    return Window(start, end)


def tolerance(tolerance_m: float) -> float:
    """The simplification tolerance asked for, or :class:`InvalidInput` (0: not simplified)."""
    if not 0.0 <= tolerance_m <= MAX_TOLERANCE_M:
        raise InvalidInput(
            f"simplify must be from 0 to {MAX_TOLERANCE_M:g} metres, not {tolerance_m:g}",
            code="track.tolerance_out_of_range",
            tolerance_m=tolerance_m,
            max_m=MAX_TOLERANCE_M,
        )
    return tolerance_m


@dataclass(frozen=True, slots=True)
class UnitTrack:
    """One unit's fixes in a window, and the same track simplified for the map."""

    unit_id: str
    points: list[TrackPoint]
    simplified: list[TrackPoint]

    @property
    def line(self) -> list[TrackPoint]:
        """The points a line is drawn through: every fix but the flagged jumps."""
        return [p for p in self.points if not p.jump]


def track(
    unit_id: str, points: Sequence[TrackPoint], tolerance_m: float, epsg: int | None
) -> UnitTrack:
    ordered = sorted(points, key=lambda p: p.at)
    return UnitTrack(unit_id, ordered, simplify(ordered, tolerance_m, epsg=epsg))
