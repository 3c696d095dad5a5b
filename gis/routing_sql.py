"""Drive times and routes computed by pgRouting over ``gis_road_edges``, snapping in SQL.

Every statement here snaps the points with nearest-neighbour scans of the edges' geometry
index (``<->``), joins them to the graph by the virtual edges of :mod:`gis.roadsnap` written
in SQL, and hands pgRouting the region's edges, limited to the points' bounding box widened
by :data:`BBOX_MARGIN_M` (no filter when that covers the whole region). pgRouting builds its
graph from those rows on every call, which is what makes these statements slow on a city;
the in-memory graph (:mod:`gis.roadgraph`) gives the same answers.

- :func:`route`: one route with its geometry (``GET /api/v1/gis/route`` through
  :class:`gis.routing.RoadGraphs`), which needs the path's edges, so it stays here;
- :func:`drive_times`: many origins to one destination in ONE statement (one
  ``pgr_dijkstraCost`` on the reversed graph from the destination): what a team would write
  with pgRouting alone; the benchmarks' baseline and the tests' reference;
- :func:`main_network`: which vertices lie off the region's main network
  (``pgr_strongComponents``), for the snapping of the two above and for first-due areas.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, BigInteger, DateTime, Float, Integer, TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.errors import RegionNotFoundError
from gis.roadsnap import (
    DEST_SNAP_CANDIDATES,
    MAX_SNAP_M,
    OFFROAD_SPEED_MPS,
    SNAP_CANDIDATES,
    SNAP_TOLERANCE_M,
    VIRTUAL_BASE,
)

BBOX_MARGIN_M = 10_000.0
"""How far beyond the points' bounding box the graph is kept (roads may leave the box): this
much, or the box's diagonal if that is longer. A route leaving the box by more is missed."""


@dataclass(frozen=True, slots=True)
class Route:
    """A drive from one point to another."""

    seconds: float
    metres: float
    geometry: dict[str, Any]
    """GeoJSON LineString, WGS84, from the origin to the destination."""


@dataclass(frozen=True, slots=True)
class MainNetwork:
    """Vertices off the region's main strongly connected road network, for one import."""

    imported_at: datetime
    isolated: tuple[int, ...]


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


_DRIVE_TIMES_SQL = (
    "WITH"  # noqa: S608
    + _SNAP_CTES
    + """,
graph AS (
    -- the reversed graph: each edge's two costs swapped, the virtual edges turned around
    SELECT format(
        'SELECT id, source, target, reverse_cost_s AS cost, cost_s AS reverse_cost '
        'FROM gis_road_edges WHERE region = %L %s'
        'UNION ALL SELECT id, source, target, cost, -1::float8 FROM unnest('
        '%L::bigint[], %L::bigint[], %L::bigint[], %L::float8[]) AS v(id, source, target, cost)',
        CAST(:region AS text),
        box.filter,
        (SELECT array_agg(id ORDER BY id)::text FROM virt),
        (SELECT array_agg(tgt ORDER BY id)::text FROM virt),
        (SELECT array_agg(src ORDER BY id)::text FROM virt),
        (SELECT array_agg(cost ORDER BY id)::text FROM virt)
    ) AS q,
    (SELECT array_agg(DISTINCT src) FROM virt WHERE i > 0) AS targets
    FROM box
    WHERE EXISTS (SELECT 1 FROM virt WHERE i = 0) AND EXISTS (SELECT 1 FROM virt WHERE i > 0)
)
SELECT (d.end_vid - :base)::int AS i, d.agg_cost
FROM graph, pgr_dijkstraCost(graph.q, CAST(:base AS bigint), graph.targets, directed => true) d
"""
)

_ROUTE = _statement(_ROUTE_SQL)
_DRIVE_TIMES = _statement(_DRIVE_TIMES_SQL)

_MAIN_NETWORK_SQL = text(
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


def _params(
    region: str,
    origins: Sequence[tuple[float, float]],
    dest: tuple[float, float],
    network: MainNetwork,
) -> dict[str, Any]:
    return {
        "region": region,
        "stamp": network.imported_at,
        "isolated": list(network.isolated),
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


async def _check_region(conn: AsyncConnection, region: str) -> None:
    found = await conn.scalar(
        text("SELECT 1 FROM gis_regions WHERE name = :region"), {"region": region}
    )
    if found is None:
        raise RegionNotFoundError(f"region {region!r} has not been imported", region=region)


async def main_network(conn: AsyncConnection, region: str) -> MainNetwork:
    """The vertices off the region's main (largest strongly connected) network, freshly
    computed. Points are never snapped to roads touching them."""
    row = (await conn.execute(_MAIN_NETWORK_SQL, {"region": region})).first()
    if row is None:
        raise RegionNotFoundError(f"region {region!r} has not been imported", region=region)
    return MainNetwork(imported_at=row.imported_at, isolated=tuple(int(v) for v in row.isolated))


async def isolated_vertices(conn: AsyncConnection, region: str) -> tuple[int, ...]:
    """Ids of the region's road vertices off its main network, freshly computed."""
    return (await main_network(conn, region)).isolated


async def route(
    conn: AsyncConnection,
    region: str,
    origin: tuple[float, float],
    dest: tuple[float, float],
    network: MainNetwork,
) -> Route | None:
    """The fastest drive from ``origin`` to ``dest`` (both ``(lon, lat)``, checked by the
    caller), None if none. ``network`` must be of the region's current import (else the road
    pieces off the main network are not left out).
    """
    row = (await conn.execute(_ROUTE, _params(region, [origin], dest, network))).first()
    if row is None or row.seconds is None:
        await _check_region(conn, region)
        return None
    geometry: dict[str, Any] = json.loads(row.geojson)
    return Route(seconds=float(row.seconds), metres=float(row.metres), geometry=geometry)


async def drive_times(
    conn: AsyncConnection,
    region: str,
    origins: Sequence[tuple[str, float, float]],
    dest: tuple[float, float],
    network: MainNetwork,
) -> dict[str, float | None]:
    """Seconds from each origin ``(id, lon, lat)`` to ``dest`` ``(lon, lat)`` (checked by the
    caller), None where there is no way, in one statement and one pgRouting search.
    ``network`` as for :func:`route`.
    """
    if not origins:
        return {}
    rows = (
        await conn.execute(
            _DRIVE_TIMES, _params(region, [(o[1], o[2]) for o in origins], dest, network)
        )
    ).all()
    if not rows:
        await _check_region(conn, region)
    costs = {int(row.i): float(row.agg_cost) for row in rows}
    return {ident: costs.get(n) for n, (ident, _, _) in enumerate(origins, start=1)}
