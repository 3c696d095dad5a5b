"""A vehicle driving along a line (a route's geometry) at a steady speed: where it is after a
given distance, and which way it heads. Pure; the demo's simulated vehicles use it to report
positions along the real road network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

_EARTH_M = 6_371_008.8


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_M * math.asin(math.sqrt(h))


def bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The initial bearing from ``a`` to ``b``, degrees from north (0 when they coincide)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    if x == 0 and y == 0:
        return 0.0
    return math.degrees(math.atan2(y, x)) % 360.0


@dataclass(frozen=True)
class Spot:
    lon: float
    lat: float
    heading_deg: float
    arrived: bool


@dataclass
class Path:
    """A line of (lon, lat) points, measured once."""

    points: Sequence[tuple[float, float]]
    _cumulative: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a path needs at least one point")
        total = 0.0
        self._cumulative = [0.0]
        for a, b in zip(self.points, self.points[1:], strict=False):
            total += _metres(a, b)
            self._cumulative.append(total)

    @property
    def length_m(self) -> float:
        return self._cumulative[-1]

    def at(self, travelled_m: float) -> Spot:
        """Where a vehicle is after ``travelled_m`` along the path (the end once past it)."""
        if len(self.points) == 1 or travelled_m >= self.length_m:
            last = self.points[-1]
            heading = bearing_deg(self.points[-2], last) if len(self.points) > 1 else 0.0
            return Spot(last[0], last[1], heading, True)
        travelled_m = max(0.0, travelled_m)
        # the segment the distance falls on
        i = next(k for k in range(1, len(self._cumulative)) if self._cumulative[k] >= travelled_m)
        a, b = self.points[i - 1], self.points[i]
        span = self._cumulative[i] - self._cumulative[i - 1]
        t = 0.0 if span == 0 else (travelled_m - self._cumulative[i - 1]) / span
        return Spot(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, bearing_deg(a, b), False)

    def reversed_until(self, travelled_m: float) -> Path:
        """The way back from ``travelled_m`` along the path to its start."""
        here = self.at(travelled_m)
        back = [(here.lon, here.lat)]
        back += [p for p, c in zip(self.points, self._cumulative, strict=True) if c < travelled_m][
            ::-1
        ]
        return Path(back)


def plausible_speed_mps(
    metres: float, seconds: float, low: float = 8.0, high: float = 22.0
) -> float:
    """The average speed of a route's drive time, kept within what an emergency vehicle in town
    drives (about 30 to 80 km/h)."""
    if seconds <= 0:
        return low
    return min(high, max(low, metres / seconds))
