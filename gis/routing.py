"""Drive times and routes on a region's road graph (pgRouting over ``gis_road_edges``).

Points off the graph (a unit's GPS fix, an incident's address) are joined to it through
*virtual edges*. Each point is snapped to the nearest edge of the region's main road network:
road pieces cut off from it (found once per import with ``pgr_strongComponents``) are never
used. The destination is also joined to the next nearest edges within
:data:`SNAP_TOLERANCE_M`, so an address between two streets is reached from either. A snapped
point is connected to both ends of its edge with the cost of driving the part of the edge
between the snapped spot and that end (one-way rules kept: a negative cost closes that
direction), plus the straight distance from the point to the road at
:data:`OFFROAD_SPEED_MPS`. A unit on the incident's own edge also gets the direct stretch.

:func:`drive_times` answers "how long from each of these units to the incident" with one SQL
statement and one shortest-path search: on the reversed graph (each edge's two costs swapped)
a single one-to-many Dijkstra runs from the incident to all units, so 200 units cost one
search, not 200. Its snapping runs in memory, on the region's main-network edges read once per
import and process (an STRtree; the statement checks ``gis_regions.imported_at`` and a
re-imported region is read again), which is quicker than 200 nearest-neighbour index scans.
The edges handed to pgRouting are limited to the points' bounding box widened by
:data:`BBOX_MARGIN_M` (no filter when that covers the whole region).

:func:`route` gives one unit's route to the incident: duration, length and the geometry as a
GeoJSON LineString in the direction of travel; it snaps in SQL (the same rules), all in one
statement.

:func:`drive_times_naive` asks the same with one query and one search per unit: the
benchmark's baseline (:func:`benchmark`, ``cad bench route``).
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely import STRtree
from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    Float,
    Integer,
    TextClause,
    bindparam,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gis.coords import check_lon_lat
from gis.errors import InvalidInput, RegionNotFoundError

OFFROAD_SPEED_MPS = 15.0 / 3.6
"""Speed assumed from a point to the road it is snapped to (walking a vehicle in: 15 km/h)."""

SNAP_CANDIDATES = 1
"""How many nearest edges a unit position (a GPS fix, on a road) is joined to."""

DEST_SNAP_CANDIDATES = 4
"""How many nearest edges the destination is joined to (those within :data:`SNAP_TOLERANCE_M`
of the nearest): an address between two streets is reached from whichever is faster."""

SNAP_TOLERANCE_M = 40.0
"""Edges no more than this much farther than the nearest one are joined too."""

BBOX_MARGIN_M = 10_000.0
"""How far beyond the points' bounding box the graph is kept (roads may leave the box): this
much, or the box's diagonal if that is longer. A route leaving the box by more is missed."""

MAX_SNAP_M = 5000.0
"""A point farther than this from any road is not routed (it is not in the region)."""

VIRTUAL_BASE = 9_000_000_000_000_000_000
"""Ids of virtual vertices and edges start here, far above any imported id."""

MAX_ORIGINS = 5000


@dataclass(frozen=True, slots=True)
class Route:
    """A drive from one point to another."""

    seconds: float
    metres: float
    geometry: dict[str, Any]
    """GeoJSON LineString, WGS84, from the origin to the destination."""


# The points (index 0 is the destination, 1..n the origins), their candidate edges, and the
# virtual edges joining them to the graph, written in the direction of travel (towards 0).
_SNAP_CTES = """
stamp AS (
    -- the isolated vertices passed in belong to this import of the region (else unused)
    SELECT coalesce(bool_or(imported_at = :stamp), false) AS fresh
    FROM gis_regions WHERE name = :region
),
pts AS (
    -- k: how many nearby edges each point may snap to (more for the destination)
    SELECT 0 AS i, ST_SetSRID(ST_MakePoint(:dlon, :dlat), 4326) AS g, :k_dest AS k
    UNION ALL
    SELECT u.ord::int, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326), :k
    FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[]))
        WITH ORDINALITY AS u(lon, lat, ord)
),
cand AS (
    -- nearest first; equal distances (a point on a junction) resolved by id, so that the
    -- same point always snaps the same way
    SELECT p.i, p.g, e.id AS edge, e.source, e.target, e.cost_s, e.reverse_cost_s, e.geom,
           ST_LineLocatePoint(e.geom, p.g) AS f,
           ST_DistanceSphere(p.g, ST_ClosestPoint(e.geom, p.g)) AS off_m
    FROM pts p
    CROSS JOIN LATERAL (
        SELECT n.* FROM (
            SELECT r.id, r.source, r.target, r.cost_s, r.reverse_cost_s, r.geom,
                   r.geom <-> p.g AS d
            FROM gis_road_edges r
            WHERE r.region = :region AND (r.cost_s >= 0 OR r.reverse_cost_s >= 0)
              AND (NOT (SELECT fresh FROM stamp)
                   OR NOT (r.source = ANY(:isolated) OR r.target = ANY(:isolated)))
            ORDER BY r.geom <-> p.g
            LIMIT p.k + 2
        ) n
        ORDER BY n.d, n.id
        LIMIT p.k
    ) e
),
snap AS MATERIALIZED (
    SELECT c.*
    FROM cand c
    JOIN (SELECT i, min(off_m) AS m FROM cand GROUP BY i) b USING (i)
    WHERE c.off_m <= b.m + :tolerance AND c.off_m <= :max_snap
),
virt AS MATERIALIZED (
    SELECT :base + row_number() OVER () AS id, v.*
    FROM (
        -- a unit leaves its snapped spot towards the edge's target...
        SELECT s.i, :base + s.i AS src, s.target AS tgt,
               s.off_m / :slow + (1 - s.f) * s.cost_s AS cost, s.g, s.geom, s.f, 1.0 AS f2
        FROM snap s WHERE s.i > 0 AND s.cost_s >= 0
        UNION ALL
        -- ...or back towards its source
        SELECT s.i, :base + s.i, s.source,
               s.off_m / :slow + s.f * s.reverse_cost_s, s.g, s.geom, s.f, 0.0
        FROM snap s WHERE s.i > 0 AND s.reverse_cost_s >= 0
        UNION ALL
        -- the incident is reached from the edge's source...
        SELECT 0, s.source, :base, s.off_m / :slow + s.f * s.cost_s, s.g, s.geom, 0.0, s.f
        FROM snap s WHERE s.i = 0 AND s.cost_s >= 0
        UNION ALL
        -- ...or from its target
        SELECT 0, s.target, :base, s.off_m / :slow + (1 - s.f) * s.reverse_cost_s,
               s.g, s.geom, 1.0, s.f
        FROM snap s WHERE s.i = 0 AND s.reverse_cost_s >= 0
        UNION ALL
        -- a unit on the incident's own edge drives the stretch between them
        SELECT o.i, :base + o.i, :base,
               o.off_m / :slow + d.off_m / :slow + abs(d.f - o.f)
                   * CASE WHEN d.f >= o.f THEN o.cost_s ELSE o.reverse_cost_s END,
               o.g, o.geom, o.f, d.f
        FROM snap o JOIN snap d ON d.i = 0 AND o.i > 0 AND d.edge = o.edge
        WHERE CASE WHEN d.f >= o.f THEN o.cost_s ELSE o.reverse_cost_s END >= 0
    ) v
),
env AS (
    SELECT ST_Expand(b, m / (111320.0 * greatest(cos(radians(ST_Y(ST_Centroid(b)))), 0.01)),
                     m / 111320.0) AS env
    FROM (
        SELECT b, greatest(:margin, ST_DistanceSphere(ST_PointN(ST_BoundingDiagonal(b), 1),
                                                      ST_PointN(ST_BoundingDiagonal(b), 2)))
                  AS m
        FROM (SELECT ST_SetSRID(ST_Extent(geom)::geometry, 4326) AS b FROM snap) x
    ) e
),
box AS (
    -- the edges' filter: none when the widened box covers the whole region anyway
    SELECT CASE
               WHEN ST_Covers(env.env, r.bbox) THEN ''
               ELSE format('AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) ',
                           ST_XMin(env.env), ST_YMin(env.env),
                           ST_XMax(env.env), ST_YMax(env.env))
           END AS filter
    FROM env LEFT JOIN gis_regions r ON r.name = :region
)
"""

_ROUTE_SQL = (
    "WITH"  # noqa: S608
    + _SNAP_CTES
    + """,
graph AS (
    SELECT format(
        'SELECT id, source, target, cost_s AS cost, reverse_cost_s AS reverse_cost '
        'FROM gis_road_edges WHERE region = %L %s'
        'UNION ALL SELECT id, source, target, cost, -1::float8 FROM unnest('
        '%L::bigint[], %L::bigint[], %L::bigint[], %L::float8[]) AS v(id, source, target, cost)',
        CAST(:region AS text),
        box.filter,
        (SELECT array_agg(id ORDER BY id)::text FROM virt),
        (SELECT array_agg(src ORDER BY id)::text FROM virt),
        (SELECT array_agg(tgt ORDER BY id)::text FROM virt),
        (SELECT array_agg(cost ORDER BY id)::text FROM virt)
    ) AS q
    FROM box
    WHERE EXISTS (SELECT 1 FROM virt WHERE i = 0) AND EXISTS (SELECT 1 FROM virt WHERE i = 1)
),
path AS (
    SELECT p.seq, p.node, p.edge, p.agg_cost
    FROM graph, pgr_dijkstra(graph.q, CAST(:base AS bigint) + 1, CAST(:base AS bigint),
                             directed => true) p
),
legs AS (
    SELECT p.seq,
           CASE
               WHEN v.id IS NOT NULL AND v.i > 0 AND v.tgt <> :base THEN
                   -- unit: point, snapped spot, then along the edge to its end
                   ST_MakeLine(ARRAY[v.g, ST_LineInterpolatePoint(v.geom, v.f),
                                     CASE WHEN v.f2 >= v.f
                                          THEN ST_LineSubstring(v.geom, v.f, v.f2)
                                          ELSE ST_Reverse(ST_LineSubstring(v.geom, v.f2, v.f))
                                     END])
               WHEN v.id IS NOT NULL AND v.i = 0 THEN
                   -- incident: from the edge's end to the snapped spot, then to the point
                   ST_MakeLine(ARRAY[CASE WHEN v.f2 >= v.f
                                          THEN ST_LineSubstring(v.geom, v.f, v.f2)
                                          ELSE ST_Reverse(ST_LineSubstring(v.geom, v.f2, v.f))
                                     END,
                                     ST_LineInterpolatePoint(v.geom, v.f2), d.g])
               WHEN v.id IS NOT NULL THEN
                   -- unit and incident on one edge
                   ST_MakeLine(ARRAY[v.g,
                                     CASE WHEN v.f2 >= v.f
                                          THEN ST_LineSubstring(v.geom, v.f, v.f2)
                                          ELSE ST_Reverse(ST_LineSubstring(v.geom, v.f2, v.f))
                                     END,
                                     d.g])
               WHEN e.source = p.node THEN e.geom
               ELSE ST_Reverse(e.geom)
           END AS geom
    FROM path p
    LEFT JOIN virt v ON v.id = p.edge
    LEFT JOIN gis_road_edges e ON v.id IS NULL AND e.id = p.edge
    CROSS JOIN (SELECT g FROM pts WHERE i = 0) d
    WHERE p.edge <> -1
)
SELECT (SELECT max(agg_cost) FROM path) AS seconds,
       ST_AsGeoJSON(line, 7) AS geojson,
       ST_Length(line::geography) AS metres
FROM (SELECT ST_RemoveRepeatedPoints(ST_MakeLine(array_agg(geom ORDER BY seq))) AS line
      FROM legs) l
WHERE EXISTS (SELECT 1 FROM path)
"""
)


def _statement(sql: str) -> TextClause:
    return text(sql).bindparams(
        bindparam("base", type_=BigInteger),
        bindparam("k", type_=Integer),
        bindparam("k_dest", type_=Integer),
        bindparam("stamp", type_=DateTime(timezone=True)),
        bindparam("isolated", type_=ARRAY(BigInteger)),
        *(bindparam(name, type_=Float) for name in ("tolerance", "max_snap", "slow", "margin")),
        *(bindparam(name, type_=Float) for name in ("dlon", "dlat")),
    )


def _params(
    region: str,
    origins: Sequence[tuple[float, float]],
    dest: tuple[float, float],
    network: _Network | None = None,
) -> dict[str, Any]:
    return {
        "region": region,
        "stamp": network.stamp if network else None,
        "isolated": list(network.isolated) if network else [],
        "lons": [o[0] for o in origins],
        "lats": [o[1] for o in origins],
        "dlon": dest[0],
        "dlat": dest[1],
        "k": SNAP_CANDIDATES,
        "k_dest": DEST_SNAP_CANDIDATES,
        "tolerance": SNAP_TOLERANCE_M,
        "max_snap": MAX_SNAP_M,
        "slow": OFFROAD_SPEED_MPS,
        "margin": BBOX_MARGIN_M,
        "base": VIRTUAL_BASE,
    }


def _check_origins(origins: Sequence[tuple[str, float, float]]) -> None:
    if len(origins) > MAX_ORIGINS:
        raise InvalidInput(f"{len(origins)} origins; at most {MAX_ORIGINS} in one request")
    seen: set[str] = set()
    for ident, lon, lat in origins:
        check_lon_lat(lon, lat)
        if ident in seen:
            raise InvalidInput(f"origin id {ident!r} is given twice")
        seen.add(ident)


_ROUTE = _statement(_ROUTE_SQL)


async def _check_region(conn: AsyncConnection, region: str) -> None:
    found = await conn.scalar(
        text("SELECT 1 FROM gis_regions WHERE name = :region"), {"region": region}
    )
    if found is None:
        raise RegionNotFoundError(f"region {region!r} has not been imported")


@dataclass(frozen=True, slots=True)
class _Network:
    """Vertices off the region's main strongly connected road network, for one import."""

    stamp: datetime
    isolated: tuple[int, ...]


_networks: dict[tuple[str, str], _Network] = {}

_ISOLATED_SQL = text(
    """
    WITH comp AS (
        SELECT c.node, c.component
        FROM pgr_strongComponents(
            format('SELECT id, source, target, cost_s AS cost, reverse_cost_s AS reverse_cost '
                   'FROM gis_road_edges WHERE region = %L', CAST(:region AS text))
        ) c
    ),
    main AS (SELECT component FROM comp GROUP BY component ORDER BY count(*) DESC LIMIT 1)
    SELECT r.imported_at,
           ARRAY(SELECT node FROM comp WHERE component <> (SELECT component FROM main))
               AS isolated
    FROM gis_regions r WHERE r.name = :region
    """
)


def _network_key(conn: AsyncConnection, region: str) -> tuple[str, str]:
    return (conn.engine.url.render_as_string(hide_password=True), region)


async def _refresh_network(conn: AsyncConnection, region: str) -> None:
    """Find the vertices off the region's main network, for the snapping of later calls."""
    row = (await conn.execute(_ISOLATED_SQL, {"region": region})).first()
    key = _network_key(conn, region)
    if row is None:
        _networks.pop(key, None)
        return
    _networks[key] = _Network(stamp=row.imported_at, isolated=tuple(int(v) for v in row.isolated))


async def isolated_vertices(conn: AsyncConnection, region: str) -> tuple[int, ...]:
    """Ids of the region's road vertices off its main (largest strongly connected) network,
    freshly computed. Points are never snapped to roads touching them.
    """
    await _refresh_network(conn, region)
    network = _networks.get(_network_key(conn, region))
    return network.isolated if network else ()


async def _known_network(conn: AsyncConnection, region: str) -> _Network | None:
    """The cached network facts; computed on first use (the statements check they are current)."""
    key = _network_key(conn, region)
    if key not in _networks:
        await _refresh_network(conn, region)
    return _networks.get(key)


# --- drive times: snapping in memory, one search in the database ---------------------------

_EARTH_RADIUS_M = 6371008.7714
"""Mean earth radius, as PostGIS' ST_DistanceSphere uses for WGS84."""


@dataclass(frozen=True, slots=True)
class _Roads:
    """The region's main-network edges held in memory for snapping (one import's worth)."""

    stamp: datetime
    ids: npt.NDArray[np.int64]
    source: npt.NDArray[np.int64]
    target: npt.NDArray[np.int64]
    cost: npt.NDArray[np.float64]
    reverse: npt.NDArray[np.float64]
    lines: npt.NDArray[Any]
    tree: Any
    bbox: tuple[float, float, float, float] | None


_roads: dict[tuple[str, str], _Roads] = {}

_ROADS_SQL = text(
    """
    SELECT e.id, e.source, e.target, e.cost_s, e.reverse_cost_s, ST_AsBinary(e.geom) AS wkb
    FROM gis_road_edges e
    WHERE e.region = :region AND (e.cost_s >= 0 OR e.reverse_cost_s >= 0)
      AND NOT (e.source = ANY(:isolated) OR e.target = ANY(:isolated))
    ORDER BY e.id
    """
).bindparams(bindparam("isolated", type_=ARRAY(BigInteger)))

_REGION_STAMP_SQL = text(
    "SELECT imported_at, ST_XMin(bbox) AS x0, ST_YMin(bbox) AS y0, ST_XMax(bbox) AS x1,"
    " ST_YMax(bbox) AS y1 FROM gis_regions WHERE name = :region"
)

# One search on the reversed graph (each edge's two costs swapped, virtual edges turned
# around) from the destination (vertex :base) to every origin (vertex :base + i). The edge
# filter is built from numbers only; values travel as bound parameters.
_DIJKSTRA = text(
    """
    WITH stamp AS (
        SELECT coalesce(bool_or(imported_at = :stamp), false) AS fresh
        FROM gis_regions WHERE name = :region
    )
    SELECT (d.end_vid - :base)::int AS i, d.agg_cost, stamp.fresh
    FROM stamp,
         pgr_dijkstraCost(
             format(
                 'SELECT id, source, target, reverse_cost_s AS cost, cost_s AS reverse_cost '
                 'FROM gis_road_edges WHERE region = %L %s'
                 'UNION ALL SELECT id, source, target, cost, -1::float8 FROM unnest('
                 '%L::bigint[], %L::bigint[], %L::bigint[], %L::float8[]) '
                 'AS v(id, source, target, cost)',
                 CAST(:region AS text), CAST(:filter AS text),
                 CAST(:vid AS bigint[])::text, CAST(:vsource AS bigint[])::text,
                 CAST(:vtarget AS bigint[])::text, CAST(:vcost AS float8[])::text),
             CAST(:base AS bigint), CAST(:targets AS bigint[]), directed => true
         ) d
    """
).bindparams(
    bindparam("stamp", type_=DateTime(timezone=True)),
    bindparam("base", type_=BigInteger),
    bindparam("vid", type_=ARRAY(BigInteger)),
    bindparam("vsource", type_=ARRAY(BigInteger)),
    bindparam("vtarget", type_=ARRAY(BigInteger)),
    bindparam("vcost", type_=ARRAY(Float)),
    bindparam("targets", type_=ARRAY(BigInteger)),
)


async def _load_roads(conn: AsyncConnection, region: str) -> _Roads:
    """Read the region's main-network edges (and remember them for this import)."""
    for _ in range(3):
        network = await _known_network(conn, region)
        if network is None:
            raise RegionNotFoundError(f"region {region!r} has not been imported")
        rows = (
            await conn.execute(_ROADS_SQL, {"region": region, "isolated": list(network.isolated)})
        ).all()
        head = (await conn.execute(_REGION_STAMP_SQL, {"region": region})).first()
        if head is None:
            raise RegionNotFoundError(f"region {region!r} has not been imported")
        if head.imported_at != network.stamp:
            await _refresh_network(conn, region)  # re-imported meanwhile: start again
            continue
        lines = np.array(shapely.from_wkb([r.wkb for r in rows]), dtype=object)
        roads = _Roads(
            stamp=network.stamp,
            ids=np.array([r.id for r in rows], dtype=np.int64),
            source=np.array([r.source for r in rows], dtype=np.int64),
            target=np.array([r.target for r in rows], dtype=np.int64),
            cost=np.array([r.cost_s for r in rows], dtype=np.float64),
            reverse=np.array([r.reverse_cost_s for r in rows], dtype=np.float64),
            lines=lines,
            tree=STRtree(lines),
            bbox=None if head.x0 is None else (head.x0, head.y0, head.x1, head.y1),
        )
        _roads[_network_key(conn, region)] = roads
        return roads
    raise RegionNotFoundError(f"region {region!r} is being re-imported; try again")


async def _known_roads(conn: AsyncConnection, region: str) -> _Roads:
    known = _roads.get(_network_key(conn, region))
    return known if known is not None else await _load_roads(conn, region)


def _sphere_m(
    lon1: npt.NDArray[np.float64],
    lat1: npt.NDArray[np.float64],
    lon2: npt.NDArray[np.float64],
    lat2: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Great-circle metres (haversine), element-wise."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    result: npt.NDArray[np.float64] = 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
    return result


@dataclass(frozen=True, slots=True)
class _Snap:
    point: int
    """0 for the destination, 1.. for the origins."""
    edge: int
    """Index into the region's edge arrays."""
    f: float
    off_m: float


def _nearest_edges(roads: _Roads, lon: float, lat: float, k: int) -> list[int]:
    """The ``k`` nearest edges within reach of the nearest one (planar distance in degrees,
    ties by edge id), found through the spatial index."""
    point = shapely.points(lon, lat)
    _, distance = roads.tree.query_nearest(point, return_distance=True)
    if len(distance) == 0:
        return []
    # Everything the metric tolerance could still admit, with room to spare.
    reach = float(distance[0]) + SNAP_TOLERANCE_M * 2 / (
        111320.0 * max(math.cos(math.radians(lat)), 0.01)
    )
    found = roads.tree.query(point, predicate="dwithin", distance=reach)
    distances = shapely.distance(roads.lines[found], point)
    order = np.lexsort((roads.ids[found], distances))
    return [int(found[n]) for n in order[:k]]


def _snaps(
    roads: _Roads, lons: Sequence[float], lats: Sequence[float], dest: tuple[float, float]
) -> list[_Snap]:
    """Where the destination (point 0) and the origins (1..) join the graph."""
    if len(roads.ids) == 0:
        return []
    chosen: list[tuple[int, int]] = [
        (0, e) for e in _nearest_edges(roads, dest[0], dest[1], DEST_SNAP_CANDIDATES)
    ]
    if lons:
        points = shapely.points(np.asarray(lons), np.asarray(lats))
        pairs = roads.tree.query_nearest(points, all_matches=True)
        best: dict[int, int] = {}
        for p, e in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
            if p not in best or roads.ids[e] < roads.ids[best[p]]:
                best[p] = e
        chosen.extend((p + 1, best[p]) for p in sorted(best))
    which = np.array([c[0] for c in chosen])
    edges = np.array([c[1] for c in chosen])
    all_lons = np.concatenate(([dest[0]], np.asarray(lons, dtype=np.float64)))
    all_lats = np.concatenate(([dest[1]], np.asarray(lats, dtype=np.float64)))
    pts = shapely.points(all_lons[which], all_lats[which])
    lines = roads.lines[edges]
    fractions = shapely.line_locate_point(lines, pts, normalized=True)
    spots = shapely.line_interpolate_point(lines, fractions, normalized=True)
    off = _sphere_m(all_lons[which], all_lats[which], shapely.get_x(spots), shapely.get_y(spots))
    nearest: dict[int, float] = {}
    for p, d in zip(which.tolist(), off.tolist(), strict=True):
        nearest[p] = min(d, nearest.get(p, math.inf))
    return [
        _Snap(point=p, edge=e, f=float(f), off_m=float(d))
        for p, e, f, d in zip(which.tolist(), edges.tolist(), fractions, off.tolist(), strict=True)
        if d <= nearest[p] + SNAP_TOLERANCE_M and d <= MAX_SNAP_M
    ]


def _virtual_edges(roads: _Roads, snaps: Sequence[_Snap]) -> list[tuple[int, int, float]]:
    """``(source, target, seconds)`` joining the snapped points to the graph, in the direction
    of travel (origins towards the destination)."""
    base = VIRTUAL_BASE
    slow = OFFROAD_SPEED_MPS
    out: list[tuple[int, int, float]] = []
    dest = [s for s in snaps if s.point == 0]
    for s in snaps:
        cost = float(roads.cost[s.edge])
        reverse = float(roads.reverse[s.edge])
        src, tgt = int(roads.source[s.edge]), int(roads.target[s.edge])
        if s.point == 0:
            if cost >= 0:
                out.append((src, base, s.off_m / slow + s.f * cost))
            if reverse >= 0:
                out.append((tgt, base, s.off_m / slow + (1 - s.f) * reverse))
            continue
        if cost >= 0:
            out.append((base + s.point, tgt, s.off_m / slow + (1 - s.f) * cost))
        if reverse >= 0:
            out.append((base + s.point, src, s.off_m / slow + s.f * reverse))
        for d in dest:
            if d.edge == s.edge:
                along = cost if d.f >= s.f else reverse
                if along >= 0:
                    seconds = s.off_m / slow + d.off_m / slow + abs(d.f - s.f) * along
                    out.append((base + s.point, base, seconds))
    return out


def _edge_filter(roads: _Roads, snaps: Sequence[_Snap]) -> str:
    """``AND geom && <box>`` around the snapped edges, widened; empty when the widened box
    covers the whole region anyway."""
    bounds = shapely.bounds(roads.lines[[s.edge for s in snaps]])
    x0, y0 = float(bounds[:, 0].min()), float(bounds[:, 1].min())
    x1, y1 = float(bounds[:, 2].max()), float(bounds[:, 3].max())
    diagonal = float(_sphere_m(np.array([x0]), np.array([y0]), np.array([x1]), np.array([y1]))[0])
    margin = max(BBOX_MARGIN_M, diagonal)
    dy = margin / 111320.0
    dx = margin / (111320.0 * max(math.cos(math.radians((y0 + y1) / 2)), 0.01))
    x0, y0, x1, y1 = x0 - dx, y0 - dy, x1 + dx, y1 + dy
    if roads.bbox is not None:
        bx0, by0, bx1, by1 = roads.bbox
        if x0 <= bx0 and y0 <= by0 and x1 >= bx1 and y1 >= by1:
            return ""
    return f"AND geom && ST_MakeEnvelope({x0!r}, {y0!r}, {x1!r}, {y1!r}, 4326) "


async def drive_times(
    conn: AsyncConnection,
    region: str,
    origins: Sequence[tuple[str, float, float]],
    dest: tuple[float, float],
) -> dict[str, float | None]:
    """Seconds to drive from each origin ``(id, lon, lat)`` to ``dest`` ``(lon, lat)``.

    ``None`` for an origin that cannot reach the destination (more than :data:`MAX_SNAP_M`
    from any road, or the destination itself off the roads). The points are snapped in memory
    (the region's main-network edges, read once per import and process), then one SQL
    statement runs one graph search for all origins.
    Raises :class:`RegionNotFoundError` for a region that was never imported.
    """
    check_lon_lat(*dest)
    _check_origins(origins)
    if not origins:
        return {}
    for _ in range(2):
        roads = await _known_roads(conn, region)
        snaps = _snaps(roads, [o[1] for o in origins], [o[2] for o in origins], dest)
        virtual = _virtual_edges(roads, snaps)
        targets = sorted({src for src, _, _ in virtual if src > VIRTUAL_BASE})
        if not any(tgt == VIRTUAL_BASE for _, tgt, _ in virtual) or not targets:
            return {ident: None for ident, _, _ in origins}
        ids = list(range(VIRTUAL_BASE + 1, VIRTUAL_BASE + 1 + len(virtual)))
        rows = (
            await conn.execute(
                _DIJKSTRA,
                {
                    "region": region,
                    "stamp": roads.stamp,
                    "filter": _edge_filter(roads, snaps),
                    "vid": ids,
                    # turned around for the reversed graph
                    "vsource": [tgt for _, tgt, _ in virtual],
                    "vtarget": [src for src, _, _ in virtual],
                    "vcost": [cost for _, _, cost in virtual],
                    "base": VIRTUAL_BASE,
                    "targets": targets,
                },
            )
        ).all()
        fresh = bool(rows[0].fresh) if rows else await _still_current(conn, region, roads)
        if fresh:
            costs = {int(row.i): float(row.agg_cost) for row in rows}
            return {ident: costs.get(n) for n, (ident, _, _) in enumerate(origins, start=1)}
        # The region was re-imported since its roads were read: read them again.
        await _refresh_network(conn, region)
        await _load_roads(conn, region)
    raise RegionNotFoundError(f"region {region!r} is being re-imported; try again")


async def _still_current(conn: AsyncConnection, region: str, roads: _Roads) -> bool:
    head = (await conn.execute(_REGION_STAMP_SQL, {"region": region})).first()
    if head is None:
        raise RegionNotFoundError(f"region {region!r} has not been imported")
    return bool(head.imported_at == roads.stamp)


async def drive_times_naive(
    conn: AsyncConnection,
    region: str,
    origins: Sequence[tuple[str, float, float]],
    dest: tuple[float, float],
) -> dict[str, float | None]:
    """The same answer as :func:`drive_times`, one query and one search per origin.

    Kept as the benchmark's baseline; do not use it for dispatch.
    """
    check_lon_lat(*dest)
    _check_origins(origins)
    out: dict[str, float | None] = {}
    for origin in origins:
        out.update(await drive_times(conn, region, [origin], dest))
    return out


async def route(
    conn: AsyncConnection,
    region: str,
    origin: tuple[float, float],
    dest: tuple[float, float],
) -> Route | None:
    """The fastest drive from ``origin`` to ``dest`` (both ``(lon, lat)``), None if none.

    Raises :class:`RegionNotFoundError` for a region that was never imported.
    """
    check_lon_lat(*origin)
    check_lon_lat(*dest)
    network = await _known_network(conn, region)
    result = await conn.execute(_ROUTE, _params(region, [origin], dest, network))
    row = result.first()
    if row is None or row.seconds is None:
        await _check_region(conn, region)
        return None
    geometry: dict[str, Any] = json.loads(row.geojson)
    return Route(seconds=float(row.seconds), metres=float(row.metres), geometry=geometry)


# --- benchmark ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing:
    """Latency figures of one method, milliseconds."""

    runs: int
    p50_ms: float
    p95_ms: float
    max_ms: float


@dataclass(frozen=True, slots=True)
class RoutingBenchmark:
    """:func:`drive_times` against :func:`drive_times_naive` on the same scenarios."""

    region: str
    units: int
    seed: int
    fast: Timing
    naive: Timing
    unreachable_share: float
    """Share of unit positions with no drive time (on road pieces cut off from the incident)."""
    max_disagreement_s: float
    """Largest difference between the two methods' answers (they must agree)."""


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, linear between the closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _timing(samples: Sequence[float]) -> Timing:
    return Timing(
        runs=len(samples),
        p50_ms=percentile(samples, 0.5),
        p95_ms=percentile(samples, 0.95),
        max_ms=max(samples),
    )


async def random_network_points(
    conn: AsyncConnection, region: str, count: int, rng: random.Random
) -> list[tuple[float, float]]:
    """``count`` points ``(lon, lat)`` at random places on the region's roads, drawn by ``rng``."""
    ids = (
        (
            await conn.execute(
                text("SELECT id FROM gis_road_edges WHERE region = :region ORDER BY id"),
                {"region": region},
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        await _check_region(conn, region)
        raise InvalidInput(f"region {region!r} has no road network to route on")
    chosen = [int(rng.choice(ids)) for _ in range(count)]
    fractions = [rng.random() for _ in range(count)]
    rows = await conn.execute(
        text(
            "SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM ("
            " SELECT u.ord, ST_LineInterpolatePoint(e.geom, u.f) AS p"
            " FROM unnest(CAST(:ids AS bigint[]), CAST(:fs AS float8[]))"
            "  WITH ORDINALITY AS u(id, f, ord)"
            " JOIN gis_road_edges e ON e.id = u.id) x ORDER BY ord"
        ),
        {"ids": chosen, "fs": fractions},
    )
    return [(float(r.lon), float(r.lat)) for r in rows]


async def benchmark(
    engine: AsyncEngine,
    region: str,
    *,
    units: int = 200,
    runs: int = 50,
    naive_runs: int = 5,
    seed: int = 20261121,
) -> RoutingBenchmark:
    """Time ``runs`` incidents against ``units`` random unit positions each, and the naive
    baseline on the first ``naive_runs`` of the same scenarios.
    """
    if units < 1 or runs < 1 or naive_runs < 1:
        raise InvalidInput("units, runs and naive runs must be at least 1")
    rng = random.Random(seed)  # noqa: S311 - reproducible test positions, not secrets
    async with engine.connect() as conn:
        scenarios = []
        for _ in range(max(runs, naive_runs)):
            points = await random_network_points(conn, region, units + 1, rng)
            origins = [(f"unit-{n}", lon, lat) for n, (lon, lat) in enumerate(points[1:])]
            scenarios.append((origins, points[0]))
        # Warm the session (loads pgRouting, fills PostGIS caches); not counted.
        await drive_times(conn, region, scenarios[0][0], scenarios[0][1])
        fast: list[float] = []
        answers: list[dict[str, float | None]] = []
        for origins, dest in scenarios[:runs]:
            started = time.perf_counter()
            answers.append(await drive_times(conn, region, origins, dest))
            fast.append((time.perf_counter() - started) * 1000.0)
        naive: list[float] = []
        disagreement = 0.0
        for n, (origins, dest) in enumerate(scenarios[:naive_runs]):
            started = time.perf_counter()
            slow = await drive_times_naive(conn, region, origins, dest)
            naive.append((time.perf_counter() - started) * 1000.0)
            quick = (
                answers[n] if n < len(answers) else await drive_times(conn, region, origins, dest)
            )
            for key, value in slow.items():
                other = quick[key]
                if (value is None) != (other is None):
                    disagreement = math.inf
                elif value is not None and other is not None:
                    disagreement = max(disagreement, abs(value - other))
    total = sum(len(a) for a in answers)
    missing = sum(1 for a in answers for v in a.values() if v is None)
    return RoutingBenchmark(
        region=region,
        units=units,
        seed=seed,
        fast=_timing(fast),
        naive=_timing(naive),
        unreachable_share=missing / total if total else 0.0,
        max_disagreement_s=disagreement,
    )
