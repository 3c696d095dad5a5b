"""Coordinates and projections: WGS84, CGCS2000, a metric projection per region, GCJ-02, BD-09.

Every function takes and returns ``(lon, lat)`` in that order (x before y, like GeoJSON and
pyproj with ``always_xy``). Distances are in metres, on the WGS84 ellipsoid or in a metric
projection, never in degrees.

GCJ-02 (the offset datum of maps published in mainland China) and BD-09 (Baidu's further offset
of GCJ-02) have no closed-form inverse; the inverses here iterate the forward formula until the
residual is below :data:`INVERSE_TOLERANCE_DEG`. Outside mainland China's bounding rectangle the
offset is not applied (the published formulas do the same), so those points pass unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache

from pyproj import CRS, Geod, Transformer

from gis.errors import InvalidCoordinates

WGS84 = 4326
CGCS2000 = 4490
WEB_MERCATOR = 3857

INVERSE_TOLERANCE_DEG = 1e-9
"""Residual at which the GCJ-02 and BD-09 inverses stop (about 0.1 mm)."""

_MAX_ITERATIONS = 30

# Krasovsky 1940 ellipsoid, used by the GCJ-02 formula.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

_GEOD = Geod(ellps="WGS84")


def check_lon_lat(lon: float, lat: float) -> None:
    """Raise :class:`InvalidCoordinates` unless ``lon`` and ``lat`` are finite and in range."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise InvalidCoordinates(
            f"coordinates must be numbers, got lon={lon!r} lat={lat!r}",
            code="point.not_numbers",
            lon=repr(lon),
            lat=repr(lat),
        )
    if not -90.0 <= lat <= 90.0:
        raise InvalidCoordinates(
            f"latitude {lat:g} is outside -90..90", code="point.lat_range", lat=lat
        )
    if not -180.0 <= lon <= 180.0:
        raise InvalidCoordinates(
            f"longitude {lon:g} is outside -180..180", code="point.lon_range", lon=lon
        )


# --- pyproj: datums and projections -------------------------------------------------------


@lru_cache(maxsize=64)
def transformer(source_epsg: int, target_epsg: int) -> Transformer:
    """A cached pyproj transformer between two EPSG codes, x=lon/easting first."""
    return Transformer.from_crs(
        CRS.from_epsg(source_epsg), CRS.from_epsg(target_epsg), always_xy=True
    )


def transform(source_epsg: int, target_epsg: int, x: float, y: float) -> tuple[float, float]:
    """One point from ``source_epsg`` to ``target_epsg``."""
    tx, ty = transformer(source_epsg, target_epsg).transform(x, y)
    return float(tx), float(ty)


def wgs84_to_cgcs2000(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 to CGCS2000 (EPSG:4490), the Chinese geodetic datum (differs by centimetres)."""
    check_lon_lat(lon, lat)
    return transform(WGS84, CGCS2000, lon, lat)


def cgcs2000_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """CGCS2000 (EPSG:4490) to WGS84."""
    check_lon_lat(lon, lat)
    return transform(CGCS2000, WGS84, lon, lat)


def utm_zone(lon: float, lat: float) -> int:
    """The UTM zone number (1..60) for a point, with the Norway and Svalbard exceptions."""
    check_lon_lat(lon, lat)
    zone = int((lon + 180.0) // 6.0) + 1
    zone = min(zone, 60)
    if 56.0 <= lat < 64.0 and 3.0 <= lon < 12.0:
        return 32
    if 72.0 <= lat < 84.0 and lon >= 0.0:
        if lon < 9.0:
            return 31
        if lon < 21.0:
            return 33
        if lon < 33.0:
            return 35
        if lon < 42.0:
            return 37
    return zone


def metric_crs_for(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone containing a region's centre (``326zz`` north, ``327zz``
    south); polar regions beyond UTM's range use the UPS projections (5041 north, 5042 south).
    """
    check_lon_lat(lon, lat)
    if lat >= 84.0:
        return 5041
    if lat < -80.0:
        return 5042
    zone = utm_zone(lon, lat)
    return (32600 if lat >= 0.0 else 32700) + zone


def to_metric(lon: float, lat: float, epsg: int) -> tuple[float, float]:
    """WGS84 ``(lon, lat)`` to ``(x, y)`` metres in the projection ``epsg``."""
    check_lon_lat(lon, lat)
    return transform(WGS84, epsg, lon, lat)


def from_metric(x: float, y: float, epsg: int) -> tuple[float, float]:
    """``(x, y)`` metres in the projection ``epsg`` back to WGS84 ``(lon, lat)``."""
    return transform(epsg, WGS84, x, y)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Geodesic distance in metres between two WGS84 points (on the ellipsoid)."""
    check_lon_lat(lon1, lat1)
    check_lon_lat(lon2, lat2)
    _, _, dist = _GEOD.inv(lon1, lat1, lon2, lat2)
    return float(dist)


def bearing_deg(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Initial bearing from the first point to the second, degrees clockwise from north, 0..360."""
    check_lon_lat(lon1, lat1)
    check_lon_lat(lon2, lat2)
    az, _, _ = _GEOD.inv(lon1, lat1, lon2, lat2)
    return float(az) % 360.0


def destination(lon: float, lat: float, bearing: float, metres: float) -> tuple[float, float]:
    """The point ``metres`` away from ``(lon, lat)`` along ``bearing`` (degrees from north)."""
    check_lon_lat(lon, lat)
    if not math.isfinite(metres) or not math.isfinite(bearing):
        raise InvalidCoordinates(
            "distance and bearing must be numbers",
            code="point.distance_bearing_invalid",
            metres=repr(metres),
            bearing=repr(bearing),
        )
    dlon, dlat, _ = _GEOD.fwd(lon, lat, bearing, metres)
    return float(dlon), float(dlat)


def line_length_m(points: Sequence[tuple[float, float]]) -> float:
    """Geodesic length in metres of a WGS84 polyline given as ``(lon, lat)`` points."""
    if len(points) < 2:
        return 0.0
    for lon, lat in points:
        check_lon_lat(lon, lat)
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    return float(_GEOD.line_length(lons, lats))


# --- GCJ-02 and BD-09 ---------------------------------------------------------------------


def in_china_rectangle(lon: float, lat: float) -> bool:
    """Whether the GCJ-02 offset applies: the rectangle the published formulas use."""
    return 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271


def _gcj_delta(lon: float, lat: float) -> tuple[float, float]:
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = math.sqrt(abs(x))
    common = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    dlat += common
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) / 1.5
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    dlon += common
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) / 1.5
    rad_lat = lat / 180.0 * math.pi
    magic = 1.0 - _GCJ_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 to GCJ-02 (unchanged outside mainland China's rectangle)."""
    check_lon_lat(lon, lat)
    if not in_china_rectangle(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


_Forward = Callable[[float, float], tuple[float, float]]


def _invert(
    forward: _Forward, target_lon: float, target_lat: float, guess: tuple[float, float]
) -> tuple[float, float]:
    """Fixed-point iteration: find p with forward(p) == target, starting from ``guess``."""
    lon, lat = guess
    for _ in range(_MAX_ITERATIONS):
        flon, flat = forward(lon, lat)
        err_lon = target_lon - flon
        err_lat = target_lat - flat
        lon += err_lon
        lat += err_lat
        if abs(err_lon) < INVERSE_TOLERANCE_DEG and abs(err_lat) < INVERSE_TOLERANCE_DEG:
            break
    return lon, lat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 to WGS84 by iterating the forward formula to below 1e-9 degrees."""
    check_lon_lat(lon, lat)
    if not in_china_rectangle(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_delta(lon, lat)
    return _invert(wgs84_to_gcj02, lon, lat, (lon - dlon, lat - dlat))


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 to BD-09 (Baidu)."""
    check_lon_lat(lon, lat)
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def _bd09_to_gcj02_approx(lon: float, lat: float) -> tuple[float, float]:
    x = lon - 0.0065
    y = lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 to GCJ-02: the usual closed-form estimate, refined against the forward formula."""
    check_lon_lat(lon, lat)
    return _invert(gcj02_to_bd09, lon, lat, _bd09_to_gcj02_approx(lon, lat))


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 to BD-09, through GCJ-02."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 to WGS84, through GCJ-02."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
