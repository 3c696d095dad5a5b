"""Reverse geocoding: from a point to the nearest address, street or intersection; jurisdictions.

:func:`reverse` looks at what is around a point and says the most useful thing:

- an **address** point when the caller stands at (or in) a building with an address;
- an **intersection** when the point is at the crossing of two named streets;
- the nearest **street**, with a house number estimated from the numbered addresses along it
  (interpolated between the neighbours on the same side, keeping the side's odd/even parity),
  and the side of the street, seen facing the direction in which the numbers rise.

Distances are geodesic metres. :func:`estimate_house_number` is the pure interpolation, kept
apart for testing. :func:`jurisdiction_at` answers which jurisdiction (municipality, district)
covers a point.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.coords import check_lon_lat
from gis.errors import RegionNotFoundError

ADDRESS_AT_M = 25.0
"""An address point this close is where the caller is."""

INTERSECTION_AT_M = 20.0
"""A crossing of two named streets this close is the answer (unless an address is closer)."""

STREET_WITHIN_M = 150.0
"""A street farther than this is not reported as the place."""

ADDRESS_WITHIN_M = 200.0
"""The nearest address is reported (as extra information) up to this far."""

STREET_ADDRESS_BAND_M = 120.0
"""Addresses farther than this from the street line are not used to estimate numbers."""

Kind = Literal["address", "street", "intersection", "none"]
Side = Literal["left", "right"]

_LEADING_NUMBER = re.compile(r"^\s*(\d+)")


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """A municipality or other administrative area that covers a point."""

    id: int
    name: str
    admin_level: int
    names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NearbyAddress:
    """An address point and how far it is."""

    street: str | None
    housenumber: str
    lon: float
    lat: float
    distance_m: float


@dataclass(frozen=True, slots=True)
class ReverseResult:
    """What a point is, in words a dispatcher can say on the radio."""

    kind: Kind
    label: str
    lon: float
    """Where the answer is: the address point, the spot on the street, the crossing."""
    lat: float
    distance_m: float | None
    """From the asked point to ``lon``/``lat``; None when nothing was found."""
    street: str | None = None
    housenumber: str | None = None
    estimated: bool = False
    """The house number is interpolated along the street, not an address in the data."""
    side: Side | None = None
    """Side of the street, facing the direction in which house numbers rise."""
    cross_street: str | None = None
    jurisdiction: Jurisdiction | None = None
    nearest_address: NearbyAddress | None = None


@dataclass(frozen=True, slots=True)
class NumberedPoint:
    """A numbered address projected on a street line."""

    fraction: float
    """Position along the street line, 0..1."""
    number: int
    side: int
    """+1 left of the line's drawing direction, -1 right, 0 on it."""


def leading_number(housenumber: str) -> int | None:
    """``12`` from ``12``, ``12a``, ``12-14``; None when there is no number in front."""
    match = _LEADING_NUMBER.match(housenumber)
    return int(match.group(1)) if match else None


def numbers_rise_along(points: Sequence[NumberedPoint]) -> bool | None:
    """Whether house numbers grow in the drawing direction of the line (None: cannot tell)."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_f = sum(p.fraction for p in points) / n
    mean_n = sum(p.number for p in points) / n
    cov = sum((p.fraction - mean_f) * (p.number - mean_n) for p in points)
    if cov == 0:
        return None
    return cov > 0


def _interpolate(position: float, pts: Sequence[NumberedPoint]) -> float | None:
    ordered = sorted(pts, key=lambda p: (p.fraction, p.number))
    fractions = [p.fraction for p in ordered]
    i = bisect.bisect_left(fractions, position)
    if i < len(ordered) and fractions[i] == position:
        return float(ordered[i].number)
    below = ordered[i - 1] if i > 0 else None
    above = ordered[i] if i < len(ordered) else None
    if below is not None and above is not None:
        span = above.fraction - below.fraction
        t = (position - below.fraction) / span if span > 0 else 0.0
        return below.number + t * (above.number - below.number)
    # Beyond the last numbered address on this side: extrapolate from the two nearest.
    pair = ordered[:2] if above is not None else ordered[-2:]
    if len(pair) < 2:
        return float(pair[0].number)
    (a, b) = pair
    span = b.fraction - a.fraction
    if span <= 0 or a.number == b.number:
        return float((a if above is not None else b).number)
    slope = (b.number - a.number) / span
    edge = a if above is not None else b
    return edge.number + slope * (position - edge.fraction)


def estimate_house_number(
    position: float, side: int, numbered: Sequence[NumberedPoint]
) -> int | None:
    """The house number expected at ``position`` (0..1 along the line) on ``side`` (+1/-1).

    Uses the numbered addresses on the same side when there are at least two (else all of
    them), interpolates linearly between the neighbours, and keeps the side's parity when
    that side is consistently odd or even. None when there are no numbers to go by.
    """
    if not numbered:
        return None
    same = [p for p in numbered if p.side == side and side != 0]
    pool = same if len(same) >= 2 else list(numbered)
    value = _interpolate(position, pool)
    if value is None:
        return None
    estimate = max(1, round(value))
    if len(same) >= 2:
        odd = sum(p.number % 2 for p in same)
        if odd in (0, len(same)):
            parity = 1 if odd else 0
            if estimate % 2 != parity:
                # the nearer of the two neighbours of the right parity
                estimate = estimate + 1 if value >= estimate or estimate == 1 else estimate - 1
                estimate = max(estimate, 1 if parity else 2)
    return estimate


# --- SQL --------------------------------------------------------------------------------

_POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"

_JURISDICTION_SQL = text(
    f"""
    SELECT id, name, admin_level, names
    FROM gis_jurisdictions
    WHERE region = :region AND ST_Covers(geom, {_POINT})
    ORDER BY admin_level DESC, ST_Area(geom)
    LIMIT 1
    """  # noqa: S608 - constant text; values are bound parameters
)

_ADDRESS_SQL = text(
    f"""
    SELECT a.street, a.housenumber, ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat,
           ST_Distance(a.geom::geography, {_POINT}::geography) AS distance_m
    FROM (
        SELECT street, housenumber, geom FROM gis_addresses
        WHERE region = :region
        ORDER BY geom <-> {_POINT}
        LIMIT 8
    ) a
    ORDER BY distance_m
    LIMIT 1
    """  # noqa: S608 - constant text; values are bound parameters
)

# Side of a point relative to a line's drawing direction: the sign of the cross product of
# the line's direction at the nearest spot and the vector from that spot to the point.
_SIDE = """
sign(
    (ST_X(ST_LineInterpolatePoint({line}, least(ST_LineLocatePoint({line}, {p}) + 0.0005, 1)))
     - ST_X(ST_LineInterpolatePoint({line}, greatest(ST_LineLocatePoint({line}, {p}) - 0.0005, 0))))
    * (ST_Y({p}) - ST_Y(ST_ClosestPoint({line}, {p})))
  - (ST_Y(ST_LineInterpolatePoint({line}, least(ST_LineLocatePoint({line}, {p}) + 0.0005, 1)))
     - ST_Y(ST_LineInterpolatePoint({line}, greatest(ST_LineLocatePoint({line}, {p}) - 0.0005, 0))))
    * (ST_X({p}) - ST_X(ST_ClosestPoint({line}, {p})))
)::int
"""

_STREET_SQL = text(
    f"""
    WITH pt AS (SELECT {_POINT} AS g),
    near AS (
        SELECT s.id, s.name, s.norm, s.geom
        FROM gis_streets s
        WHERE s.region = :region
        ORDER BY s.geom <-> {_POINT}
        LIMIT 6
    ),
    parts AS (
        SELECT n.id, n.name, n.norm, d.line
        FROM near n
        CROSS JOIN LATERAL (
            SELECT ST_GeometryN(n.geom, k) AS line
            FROM generate_series(1, ST_NumGeometries(n.geom)) AS k
            LIMIT 50
        ) d
    ),
    best AS (
        SELECT p.*, ST_DistanceSphere(ST_ClosestPoint(p.line, pt.g), pt.g) AS distance_m
        FROM parts p, pt
        ORDER BY distance_m
        LIMIT 1
    ),
    numbered AS (
        SELECT a.housenumber,
               ST_LineLocatePoint(b.line, a.geom) AS fraction,
               {_SIDE.format(line="b.line", p="a.geom")} AS side
        FROM best b
        JOIN gis_addresses a
          ON a.region = :region
         AND (a.street_id = b.id OR (a.street_id IS NULL AND a.street_norm = b.norm))
         AND ST_DWithin(a.geom::geography, b.line::geography, :band)
    )
    SELECT b.id, b.name, b.distance_m,
           ST_LineLocatePoint(b.line, pt.g) AS fraction,
           ST_X(ST_ClosestPoint(b.line, pt.g)) AS lon,
           ST_Y(ST_ClosestPoint(b.line, pt.g)) AS lat,
           {_SIDE.format(line="b.line", p="pt.g")} AS side,
           (SELECT json_agg(json_build_array(housenumber, fraction, side)) FROM numbered)
               AS numbered
    FROM best b, pt
    """  # noqa: S608 - constant text; values are bound parameters
)

_INTERSECTION_SQL = text(
    f"""
    WITH pt AS (SELECT {_POINT} AS g),
    near AS (
        SELECT s.id, s.name, s.norm, s.geom
        FROM gis_streets s, pt
        WHERE s.region = :region
          AND s.geom && ST_Expand(pt.g, :radius / (111320.0 * cos(radians(:lat))),
                                  :radius / 111320.0)
          AND ST_DWithin(s.geom::geography, pt.g::geography, :radius)
    ),
    crossings AS (
        SELECT a.name AS a_name, b.name AS b_name,
               ST_ClosestPoint(ST_Intersection(a.geom, b.geom), pt.g) AS spot
        FROM near a JOIN near b ON a.norm < b.norm AND ST_Intersects(a.geom, b.geom), pt
    )
    SELECT a_name, b_name, ST_X(spot) AS lon, ST_Y(spot) AS lat,
           ST_Distance(spot::geography, pt.g::geography) AS distance_m
    FROM crossings, pt
    WHERE NOT ST_IsEmpty(spot)
    ORDER BY distance_m
    LIMIT 1
    """  # noqa: S608 - constant text; values are bound parameters
)


async def _region_exists(conn: AsyncConnection, region: str) -> None:
    found = await conn.scalar(
        text("SELECT 1 FROM gis_regions WHERE name = :region"), {"region": region}
    )
    if found is None:
        raise RegionNotFoundError(f"region {region!r} has not been imported", region=region)


async def jurisdiction_at(
    conn: AsyncConnection, region: str, lon: float, lat: float
) -> Jurisdiction | None:
    """The most detailed jurisdiction covering the point, None outside all of them."""
    check_lon_lat(lon, lat)
    row = (
        await conn.execute(_JURISDICTION_SQL, {"region": region, "lon": lon, "lat": lat})
    ).first()
    if row is None:
        await _region_exists(conn, region)
        return None
    names = row.names if isinstance(row.names, dict) else json.loads(row.names or "{}")
    return Jurisdiction(
        id=int(row.id), name=str(row.name), admin_level=int(row.admin_level), names=names
    )


def _street_number(row: Any) -> tuple[int | None, Side | None]:
    points: list[NumberedPoint] = []
    for housenumber, fraction, side in row.numbered or []:
        number = leading_number(str(housenumber))
        if number is not None and fraction is not None and side is not None:
            points.append(NumberedPoint(float(fraction), number, int(side)))
    side = int(row.side or 0)
    estimate = estimate_house_number(float(row.fraction), side, points)
    rise = numbers_rise_along(points)
    named_side: Side | None = None
    if side != 0:
        facing_forward = rise is not False  # without numbers, face the drawing direction
        left = side > 0 if facing_forward else side < 0
        named_side = "left" if left else "right"
    return estimate, named_side


async def reverse(conn: AsyncConnection, region: str, lon: float, lat: float) -> ReverseResult:
    """What is at ``(lon, lat)``: address, intersection or street (with an estimated number).

    Raises :class:`RegionNotFoundError` for a region that was never imported.
    """
    check_lon_lat(lon, lat)
    params = {"region": region, "lon": lon, "lat": lat}
    jurisdiction = await jurisdiction_at(conn, region, lon, lat)
    addr_row = (await conn.execute(_ADDRESS_SQL, params)).first()
    street_row = (
        await conn.execute(_STREET_SQL, {**params, "band": STREET_ADDRESS_BAND_M})
    ).first()
    cross_row = (
        await conn.execute(_INTERSECTION_SQL, {**params, "radius": INTERSECTION_AT_M * 2})
    ).first()
    if addr_row is None and street_row is None and jurisdiction is None:
        await _region_exists(conn, region)

    nearest: NearbyAddress | None = None
    if addr_row is not None and addr_row.distance_m <= ADDRESS_WITHIN_M:
        nearest = NearbyAddress(
            street=addr_row.street,
            housenumber=str(addr_row.housenumber),
            lon=float(addr_row.lon),
            lat=float(addr_row.lat),
            distance_m=float(addr_row.distance_m),
        )
    common: dict[str, Any] = {"jurisdiction": jurisdiction, "nearest_address": nearest}
    place = f", {jurisdiction.name}" if jurisdiction else ""

    if nearest is not None and nearest.distance_m <= ADDRESS_AT_M:
        label = " ".join(x for x in (nearest.street, nearest.housenumber) if x)
        crossing_closer = cross_row is not None and cross_row.distance_m < nearest.distance_m / 2
        if not crossing_closer:
            return ReverseResult(
                kind="address",
                label=label + place,
                lon=nearest.lon,
                lat=nearest.lat,
                distance_m=nearest.distance_m,
                street=nearest.street,
                housenumber=nearest.housenumber,
                **common,
            )
    if cross_row is not None and cross_row.distance_m <= INTERSECTION_AT_M:
        a, b = str(cross_row.a_name), str(cross_row.b_name)
        return ReverseResult(
            kind="intersection",
            label=f"{a} / {b}{place}",
            lon=float(cross_row.lon),
            lat=float(cross_row.lat),
            distance_m=float(cross_row.distance_m),
            street=a,
            cross_street=b,
            **common,
        )
    if street_row is not None and street_row.distance_m <= STREET_WITHIN_M:
        number, side = _street_number(street_row)
        name = str(street_row.name)
        label = f"{name} ~{number}" if number is not None else name
        return ReverseResult(
            kind="street",
            label=label + place,
            lon=float(street_row.lon),
            lat=float(street_row.lat),
            distance_m=float(street_row.distance_m),
            street=name,
            housenumber=str(number) if number is not None else None,
            estimated=number is not None,
            side=side,
            **common,
        )
    if nearest is not None:
        label = " ".join(x for x in (nearest.street, nearest.housenumber) if x)
        return ReverseResult(
            kind="address",
            label=label + place,
            lon=nearest.lon,
            lat=nearest.lat,
            distance_m=nearest.distance_m,
            street=nearest.street,
            housenumber=nearest.housenumber,
            **common,
        )
    return ReverseResult(
        kind="none",
        label=jurisdiction.name if jurisdiction else "",
        lon=lon,
        lat=lat,
        distance_m=None,
        **common,
    )
