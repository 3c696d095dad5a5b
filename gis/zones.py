"""Custom zones (GeoJSON polygons) and first-due areas of stations by drive time.

Zones are areas a contingency plan refers to: an industrial park, a tunnel, a school campus.
:func:`parse_zone_geometry` turns GeoJSON into a valid (multi)polygon or says exactly what is
wrong with it (a ring that crosses itself, a latitude of 95, an open ring); nothing is written
unless the whole zone is usable.

First-due areas: :func:`first_due_areas` gives each station the part of the region it reaches
first by road. One ``pgr_drivingDistance`` search from all stations at once (``equicost``:
every road vertex goes to the station that reaches it soonest), then the Voronoi cells of the
vertices, merged per station and clipped to the region's outline.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    LargeBinary,
    bindparam,
    delete,
    func,
    insert,
    not_,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.coords import check_lon_lat
from gis.errors import InvalidGeometry, InvalidInput, NotFound, RegionNotFoundError
from gis.roadsnap import OFFROAD_SPEED_MPS, VIRTUAL_BASE
from gis.routing_sql import isolated_vertices
from gis.tables import first_due, regions, zones

MAX_VERTICES = 20_000
MAX_NAME_LENGTH = 200
KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DEFAULT_FIRST_DUE_SECONDS = 1800.0


@dataclass(frozen=True, slots=True)
class Zone:
    """A named area of a region."""

    id: int
    region: str
    name: str
    kind: str
    geometry: dict[str, Any]
    """GeoJSON MultiPolygon, WGS84."""


# --- validation (pure) ---------------------------------------------------------------------


def _geometry_part(data: Mapping[str, Any]) -> Mapping[str, Any]:
    kind = data.get("type")
    if kind == "Feature":
        geometry = data.get("geometry")
        if not isinstance(geometry, Mapping):
            raise InvalidGeometry("the GeoJSON Feature has no geometry")
        return geometry
    if kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list) or len(features) != 1:
            raise InvalidGeometry(
                "a zone is one Feature: the FeatureCollection must hold exactly one"
            )
        feature = features[0]
        if not isinstance(feature, Mapping):
            raise InvalidGeometry("the FeatureCollection's feature is not an object")
        return _geometry_part(feature)
    return data


def _check_positions(rings: Any, where: str) -> int:
    """Count positions and check each is a [lon, lat] pair in range."""
    if not isinstance(rings, list):
        raise InvalidGeometry(
            f"{where}: coordinates must be a list", code="zone.coordinates_not_list", where=where
        )
    count = 0
    for ring_no, ring in enumerate(rings, start=1):
        if not isinstance(ring, list):
            raise InvalidGeometry(
                f"{where}, ring {ring_no}: must be a list of positions",
                code="zone.ring_not_list",
                where=where,
                ring=ring_no,
            )
        for position in ring:
            if (
                not isinstance(position, list | tuple)
                or len(position) < 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position)
            ):
                raise InvalidGeometry(
                    f"{where}, ring {ring_no}: position {position!r} is not [longitude, latitude]",
                    code="zone.position_invalid",
                    where=where,
                    ring=ring_no,
                    position=repr(position),
                )
            check_lon_lat(float(position[0]), float(position[1]))
            count += 1
        if len(ring) < 4:
            raise InvalidGeometry(
                f"{where}, ring {ring_no}: a ring needs at least 4 positions "
                f"(3 corners and the first repeated), got {len(ring)}",
                code="zone.ring_too_short",
                where=where,
                ring=ring_no,
                positions=len(ring),
            )
        if list(ring[0][:2]) != list(ring[-1][:2]):
            raise InvalidGeometry(
                f"{where}, ring {ring_no}: the ring is not closed "
                f"(first position {list(ring[0][:2])} differs from last {list(ring[-1][:2])})",
                code="zone.ring_not_closed",
                where=where,
                ring=ring_no,
                first=list(ring[0][:2]),
                last=list(ring[-1][:2]),
            )
    return count


def parse_zone_geometry(data: Mapping[str, Any] | str) -> MultiPolygon:
    """A valid MultiPolygon from GeoJSON (Polygon, MultiPolygon, or one Feature of them).

    Raises :class:`InvalidGeometry` naming the problem, e.g. ``the polygon is not valid:
    Self-intersection at or near point 9.52 47.14``.
    """
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise InvalidGeometry(
                f"the zone is not valid JSON: {exc.msg}", code="zone.json_invalid", reason=exc.msg
            ) from exc
    if not isinstance(data, Mapping):
        raise InvalidGeometry("the zone must be a GeoJSON object")
    geometry = _geometry_part(data)
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        count = _check_positions(coordinates, "polygon")
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise InvalidGeometry("multipolygon: coordinates must be a non-empty list of polygons")
        count = sum(
            _check_positions(poly, f"polygon {n}") for n, poly in enumerate(coordinates, start=1)
        )
    else:
        raise InvalidGeometry(
            f"a zone must be a Polygon or MultiPolygon, not {kind!r}",
            code="zone.type_invalid",
            type=str(kind),
        )
    if count > MAX_VERTICES:
        raise InvalidGeometry(
            f"the zone has {count} positions; at most {MAX_VERTICES}",
            code="zone.too_many_positions",
            positions=count,
            max=MAX_VERTICES,
        )
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, shapely.errors.ShapelyError) as exc:
        raise InvalidGeometry(
            f"the zone geometry cannot be read: {exc}", code="zone.unreadable", reason=str(exc)
        ) from exc
    if not geom.is_valid:
        reason = re.sub(
            r"\[([-\d.eE]+) ([-\d.eE]+)\]$", r" at or near point \1 \2", explain_validity(geom)
        )
        raise InvalidGeometry(
            f"the polygon is not valid: {reason}", code="zone.polygon_invalid", reason=reason
        )
    if geom.is_empty or geom.area == 0:
        raise InvalidGeometry("the polygon has no area")
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    raise InvalidGeometry(
        f"a zone must be a Polygon or MultiPolygon, not {geom.geom_type}",
        code="zone.type_invalid",
        type=geom.geom_type,
    )


def _check_name_kind(name: str, kind: str) -> tuple[str, str]:
    clean = name.strip()
    if not clean:
        raise InvalidInput("a zone needs a name", code="zone.name_empty")
    if len(clean) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"the zone name has {len(clean)} characters; at most {MAX_NAME_LENGTH}",
            code="zone.name_too_long",
            length=len(clean),
            max=MAX_NAME_LENGTH,
        )
    if not KIND.match(kind):
        raise InvalidInput(
            f"zone kind {kind!r} must be lower-case letters, digits and _ (e.g. industrial_park)",
            code="zone.kind_invalid",
            kind=kind,
        )
    return clean, kind


# --- storage -------------------------------------------------------------------------------


async def _region_exists(conn: AsyncConnection, region: str) -> None:
    found = await conn.scalar(select(regions.c.name).where(regions.c.name == region))
    if found is None:
        raise RegionNotFoundError(f"region {region!r} has not been imported", region=region)


def _zone(row: Any) -> Zone:
    return Zone(
        id=int(row.id),
        region=str(row.region),
        name=str(row.name),
        kind=str(row.kind),
        geometry=json.loads(row.geojson),
    )


_ZONE_COLUMNS = (
    zones.c.id,
    zones.c.region,
    zones.c.name,
    zones.c.kind,
    func.ST_AsGeoJSON(zones.c.geom, 7).label("geojson"),
)


def _point(lon: float, lat: float) -> ColumnElement[Any]:
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


def _multipolygon(wkb: Any) -> ColumnElement[Any]:
    """A (multi)polygon from WKB (bytes or a bound parameter), always as a MultiPolygon."""
    return func.ST_Multi(func.ST_GeomFromWKB(wkb, 4326))


async def create_zone(
    conn: AsyncConnection,
    region: str,
    name: str,
    kind: str,
    geojson: Mapping[str, Any] | str,
) -> Zone:
    """Validate and store a zone. Nothing is written when anything is wrong."""
    clean_name, clean_kind = _check_name_kind(name, kind)
    geom = parse_zone_geometry(geojson)
    await _region_exists(conn, region)
    outside = await conn.scalar(
        select(
            not_(
                func.ST_Intersects(
                    func.ST_Expand(regions.c.bbox, 0.5), func.ST_GeomFromText(geom.wkt, 4326)
                )
            )
        ).where(regions.c.name == region, regions.c.bbox.is_not(None))
    )
    if outside:
        raise InvalidGeometry(
            f"the zone lies far outside region {region!r}",
            code="zone.outside_region",
            region=region,
        )
    try:
        async with conn.begin_nested():
            row = (
                await conn.execute(
                    insert(zones)
                    .values(
                        region=region,
                        name=clean_name,
                        kind=clean_kind,
                        geom=_multipolygon(shapely.to_wkb(geom)),
                    )
                    .returning(*_ZONE_COLUMNS)
                )
            ).one()
    except IntegrityError as exc:
        if "gis_zones_region_name" in str(exc.orig):
            raise InvalidInput(
                f"region {region!r} already has a zone named {clean_name!r}",
                code="zone.name_taken",
                region=region,
                name=clean_name,
            ) from exc
        raise InvalidGeometry(
            f"the zone was refused by the database: {exc.orig}",
            code="zone.refused",
            reason=str(exc.orig),
        ) from exc
    return _zone(row)


async def list_zones(conn: AsyncConnection, region: str) -> list[Zone]:
    """All zones of a region, by name."""
    rows = await conn.execute(
        select(*_ZONE_COLUMNS).where(zones.c.region == region).order_by(zones.c.name)
    )
    return [_zone(r) for r in rows]


async def zones_at(conn: AsyncConnection, region: str, lon: float, lat: float) -> list[Zone]:
    """The zones covering a point (boundary included), smallest first."""
    check_lon_lat(lon, lat)
    rows = await conn.execute(
        select(*_ZONE_COLUMNS)
        .where(zones.c.region == region, func.ST_Covers(zones.c.geom, _point(lon, lat)))
        .order_by(func.ST_Area(zones.c.geom), zones.c.name)
    )
    return [_zone(r) for r in rows]


async def delete_zone(conn: AsyncConnection, region: str, zone_id: int) -> None:
    """Remove a zone; :class:`NotFound` when there is none with that id in the region."""
    deleted = await conn.scalar(
        delete(zones).where(zones.c.region == region, zones.c.id == zone_id).returning(zones.c.id)
    )
    if deleted is None:
        raise NotFound(
            f"region {region!r} has no zone {zone_id}",
            code="zone.not_found",
            region=region,
            zone_id=zone_id,
        )


# --- first-due areas -----------------------------------------------------------------------

_OUTLINE_SQL = text(
    """
    SELECT ST_AsBinary(coalesce(
        (SELECT ST_Union(geom) FROM gis_jurisdictions
         WHERE region = :region
           AND admin_level = (SELECT min(admin_level) FROM gis_jurisdictions
                              WHERE region = :region)),
        (SELECT bbox FROM gis_regions WHERE name = :region)
    )) AS wkb
    """
)

_FIRST_DUE_SQL = text(
    """
    WITH stations AS (
        SELECT u.ord::int AS i, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) AS g
        FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[]))
            WITH ORDINALITY AS u(lon, lat, ord)
    ),
    snap AS MATERIALIZED (
        SELECT s.i, e.source, e.target, e.cost_s, e.reverse_cost_s,
               ST_LineLocatePoint(e.geom, s.g) AS f,
               ST_DistanceSphere(s.g, ST_ClosestPoint(e.geom, s.g)) AS off_m
        FROM stations s
        CROSS JOIN LATERAL (
            SELECT r.source, r.target, r.cost_s, r.reverse_cost_s, r.geom
            FROM gis_road_edges r
            WHERE r.region = :region AND (r.cost_s >= 0 OR r.reverse_cost_s >= 0)
              AND NOT (r.source = ANY(:isolated) OR r.target = ANY(:isolated))
            ORDER BY r.geom <-> s.g
            LIMIT 1
        ) e
    ),
    virt AS MATERIALIZED (
        SELECT :base + row_number() OVER () AS id, v.*
        FROM (
            SELECT i, :base + i AS src, target AS tgt,
                   off_m / :slow + (1 - f) * cost_s AS cost
            FROM snap WHERE cost_s >= 0
            UNION ALL
            SELECT i, :base + i, source, off_m / :slow + f * reverse_cost_s
            FROM snap WHERE reverse_cost_s >= 0
        ) v
    ),
    graph AS (
        SELECT format(
            'SELECT id, source, target, cost_s AS cost, reverse_cost_s AS reverse_cost '
            'FROM gis_road_edges WHERE region = %L '
            'UNION ALL SELECT id, source, target, cost, -1::float8 FROM unnest('
            '%L::bigint[], %L::bigint[], %L::bigint[], %L::float8[]) '
            'AS v(id, source, target, cost)',
            CAST(:region AS text),
            (SELECT array_agg(id ORDER BY id)::text FROM virt),
            (SELECT array_agg(src ORDER BY id)::text FROM virt),
            (SELECT array_agg(tgt ORDER BY id)::text FROM virt),
            (SELECT array_agg(cost ORDER BY id)::text FROM virt)
        ) AS q
        WHERE EXISTS (SELECT 1 FROM virt)
    ),
    reached AS (
        SELECT (d.from_v - :base)::int AS i, d.node
        FROM graph,
             pgr_drivingDistance(graph.q, ARRAY(SELECT DISTINCT src FROM virt), :max_seconds,
                                 directed => true, equicost => true) d
        WHERE d.node < :base
    ),
    owned AS (
        SELECT DISTINCT ON (v.geom) r.i, ST_X(v.geom) AS lon, ST_Y(v.geom) AS lat
        FROM reached r JOIN gis_road_vertices v ON v.id = r.node
        ORDER BY v.geom, r.i
    )
    SELECT i, lon, lat FROM owned
    """
).bindparams(
    bindparam("base", type_=BigInteger),
    bindparam("slow", type_=Float),
    bindparam("max_seconds", type_=Float),
)


async def first_due_areas(
    conn: AsyncConnection,
    region: str,
    stations: Sequence[tuple[str, float, float]],
    max_seconds: float = DEFAULT_FIRST_DUE_SECONDS,
) -> dict[str, dict[str, Any] | None]:
    """For each station ``(id, lon, lat)``, the area it reaches first by road, as a GeoJSON
    MultiPolygon (None for a station that is first nowhere). Places farther than
    ``max_seconds`` from every station fall to the station of the nearest place reached.
    """
    if not stations:
        raise InvalidInput(
            "first-due areas need at least one station", code="first_due.no_stations"
        )
    if not (math.isfinite(max_seconds) and max_seconds > 0):
        raise InvalidInput(
            f"max_seconds must be a positive number, got {max_seconds!r}",
            code="first_due.max_seconds_invalid",
            max_seconds=str(max_seconds),
        )
    seen: set[str] = set()
    for ident, lon, lat in stations:
        check_lon_lat(lon, lat)
        if ident in seen:
            raise InvalidInput(
                f"station {ident!r} is given twice",
                code="first_due.station_twice",
                station=ident,
            )
        seen.add(ident)
    await _region_exists(conn, region)
    isolated = await isolated_vertices(conn, region)
    rows = await conn.execute(
        _FIRST_DUE_SQL,
        {
            "region": region,
            "lons": [s[1] for s in stations],
            "lats": [s[2] for s in stations],
            "isolated": list(isolated),
            "base": VIRTUAL_BASE,
            "slow": OFFROAD_SPEED_MPS,
            "max_seconds": max_seconds,
        },
    )
    sites: list[tuple[float, float]] = []
    owner: list[int] = []
    for row in rows:
        sites.append((float(row.lon), float(row.lat)))
        owner.append(int(row.i) - 1)
    outline_wkb = await conn.scalar(_OUTLINE_SQL, {"region": region})
    outline = shapely.from_wkb(outline_wkb) if outline_wkb is not None else None
    polygons = areas_from_sites(sites, owner, len(stations), outline)
    return {
        stations[n][0]: (to_geojson(p) if p is not None else None) for n, p in enumerate(polygons)
    }


def areas_from_sites(
    sites: Sequence[tuple[float, float]],
    owner: Sequence[int],
    stations: int,
    outline: BaseGeometry | None,
) -> list[MultiPolygon | None]:
    """Per station, the union of the Voronoi cells of the sites it owns, clipped to
    ``outline`` (pure: no I/O). ``owner[k]`` is the station index of ``sites[k]``.
    """
    result: list[MultiPolygon | None] = [None] * stations
    if not sites:
        return result
    if len(sites) == 1:
        cells = [outline if outline is not None else MultiPoint(sites).buffer(0.01)]
    else:
        extent = outline if outline is not None else MultiPoint(sites).envelope.buffer(0.01)
        diagram = shapely.voronoi_polygons(MultiPoint(sites), extend_to=extent, ordered=True)
        cells = list(diagram.geoms)
    grouped: dict[int, list[BaseGeometry]] = {}
    for cell, station in zip(cells, owner, strict=True):
        grouped.setdefault(station, []).append(cell)
    for station, parts in grouped.items():
        area = shapely.union_all(parts)
        if outline is not None:
            area = area.intersection(outline)
        polygons = [g for g in getattr(area, "geoms", [area]) if isinstance(g, Polygon)]
        if polygons:
            result[station] = MultiPolygon(polygons)
    return result


async def store_first_due(
    conn: AsyncConnection,
    region: str,
    areas: Mapping[str, Mapping[str, Any] | None],
    max_seconds: float = DEFAULT_FIRST_DUE_SECONDS,
) -> None:
    """Replace the region's stored first-due areas with ``areas`` (stations without one are
    left out)."""
    await _region_exists(conn, region)
    await conn.execute(delete(first_due).where(first_due.c.region == region))
    rows = [
        {"station": station, "wkb": shapely.to_wkb(shape(geometry))}
        for station, geometry in areas.items()
        if geometry is not None
    ]
    if rows:
        await conn.execute(
            insert(first_due).values(
                region=region,
                station=bindparam("station"),
                max_seconds=max_seconds,
                geom=_multipolygon(bindparam("wkb", type_=LargeBinary)),
            ),
            rows,
        )


async def first_due_station_at(
    conn: AsyncConnection, region: str, lon: float, lat: float
) -> str | None:
    """The station whose stored first-due area covers the point, if any."""
    check_lon_lat(lon, lat)
    found = await conn.scalar(
        select(first_due.c.station)
        .where(first_due.c.region == region, func.ST_Covers(first_due.c.geom, _point(lon, lat)))
        .order_by(first_due.c.station)
        .limit(1)
    )
    return None if found is None else str(found)


def zone_feature(zone: Zone) -> dict[str, Any]:
    """A zone as a GeoJSON Feature."""
    return {
        "type": "Feature",
        "id": zone.id,
        "properties": {"name": zone.name, "kind": zone.kind, "region": zone.region},
        "geometry": zone.geometry,
    }


def to_geojson(geom: MultiPolygon) -> dict[str, Any]:
    """A shapely geometry as a GeoJSON mapping."""
    return dict(mapping(geom))
