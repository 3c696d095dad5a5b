"""A city-sized road network for measuring, generated from an imported region's roads.

The base region's road graph is copied ``cols x rows`` times, each copy translated by the
extent of the base's road vertices, and the copies are stitched at every shared border with
``links`` two-way connector roads: ``links`` vertices of the base's main network near one side
(drawn with ``seed``) are joined to the nearest main-network vertex near the opposite side of
the neighbouring copy, at :data:`CONNECTOR_SPEED_MPS`. Every copy's main network is strongly
connected and every connector runs both ways, so the whole is one connected network. It is
written as a region of its own, in whatever database the caller hands in (the benchmarks use a
scratch database), with the base's jurisdictions, streets and address points copied with every
tile, so incidents can be placed anywhere in it; its places (fire stations and the like) only
with the first tile, so a demo fleet seeded on it stays the size of the base's.
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import ARRAY, BigInteger, Float, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from command.errors import InvalidInput
from gis import routing_sql
from gis.roadsnap import sphere_m

CITY = "city"
"""The generated region's name in the benchmarks."""
CONNECTOR_SPEED_MPS = 50.0 / 3.6
TILES = re.compile(r"^([1-9][0-9]?)x([1-9][0-9]?)$")
BAND = 0.1
"""Vertices within this share of the extent from a side may carry a connector."""


@dataclass(frozen=True, slots=True)
class City:
    """What was generated."""

    region: str
    base: str
    cols: int
    rows: int
    vertices: int
    edges: int
    connectors: int
    seconds: float


_EXTENT = text(
    "SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1 FROM"
    " (SELECT ST_Extent(geom)::geometry AS e FROM gis_road_vertices WHERE region = :r) x"
)

_MAIN_VERTICES = text(
    """
    SELECT v.id, ST_X(v.geom) AS lon, ST_Y(v.geom) AS lat FROM gis_road_vertices v
    WHERE v.region = :r AND NOT (v.id = ANY(:iso)) AND EXISTS (
        SELECT 1 FROM gis_road_edges e
        WHERE e.region = :r AND (e.source = v.id OR e.target = v.id)
          AND (e.cost_s >= 0 OR e.reverse_cost_s >= 0))
    ORDER BY v.id
    """
).bindparams(bindparam("iso", type_=ARRAY(BigInteger)))

_TILES = "SELECT i, j, 1 + i * :rows + j AS k FROM generate_series(0, :cols - 1) i,"
_TILES += " generate_series(0, :rows - 1) j"

_COPY_VERTICES = text(
    f"""
    INSERT INTO gis_road_vertices (id, region, osm_node_id, geom)
    SELECT v.id + t.k * :stride, :city, v.osm_node_id,
           ST_Translate(v.geom, t.i * CAST(:w AS float8), t.j * CAST(:h AS float8))
    FROM gis_road_vertices v, ({_TILES}) t WHERE v.region = :base
    """  # noqa: S608 - a constant, no input
)

_COPY_EDGES = text(
    f"""
    INSERT INTO gis_road_edges (region, osm_way_id, source, target, cost_s, reverse_cost_s,
                                length_m, highway, name, maxspeed_kmh, geom)
    SELECT :city, e.osm_way_id, e.source + t.k * :stride, e.target + t.k * :stride, e.cost_s,
           e.reverse_cost_s, e.length_m, e.highway, e.name, e.maxspeed_kmh,
           ST_Translate(e.geom, t.i * CAST(:w AS float8), t.j * CAST(:h AS float8))
    FROM gis_road_edges e, ({_TILES}) t WHERE e.region = :base
    """  # noqa: S608 - a constant, no input
)

_COPY_MAP = [
    text(sql + f" FROM {table} x, ({_TILES}) t WHERE x.region = :base")
    for table, sql in (
        (
            "gis_jurisdictions",
            "INSERT INTO gis_jurisdictions (id, region, name, admin_level, names, osm_id, geom)"
            " SELECT x.id + t.k * :jstride, :city, x.name, x.admin_level, x.names, x.osm_id,"
            " ST_Translate(x.geom, t.i * CAST(:w AS float8), t.j * CAST(:h AS float8))",
        ),
        (
            "gis_streets",
            "INSERT INTO gis_streets (id, region, name, names, norm, jurisdiction_id, highway,"
            " geom) SELECT x.id + t.k * :sstride, :city, x.name, x.names, x.norm,"
            " x.jurisdiction_id + t.k * :jstride, x.highway,"
            " ST_Translate(x.geom, t.i * CAST(:w AS float8), t.j * CAST(:h AS float8))",
        ),
        (
            "gis_addresses",
            "INSERT INTO gis_addresses (id, region, street, street_norm, place, housenumber,"
            " postcode, city, jurisdiction_id, street_id, osm_type, osm_id, geom)"
            " SELECT x.id + t.k * :astride, :city, x.street, x.street_norm, x.place,"
            " x.housenumber, x.postcode, x.city, x.jurisdiction_id + t.k * :jstride,"
            " x.street_id + t.k * :sstride, x.osm_type, x.osm_id,"
            " ST_Translate(x.geom, t.i * CAST(:w AS float8), t.j * CAST(:h AS float8))",
        ),
    )
]

_COPY_PLACES = text(
    "INSERT INTO gis_places (id, region, name, names, norm, kind, jurisdiction_id, street,"
    " housenumber, osm_type, osm_id, geom)"
    " SELECT x.id + :pstride, :city, x.name, x.names, x.norm, x.kind,"
    " x.jurisdiction_id + :jstride, x.street, x.housenumber, x.osm_type, x.osm_id, x.geom"
    " FROM gis_places x WHERE x.region = :base"
)

_STRIDES = text(
    "SELECT (SELECT coalesce(max(id), 0) + 1 FROM gis_jurisdictions) AS j,"
    " (SELECT coalesce(max(id), 0) + 1 FROM gis_streets) AS s,"
    " (SELECT coalesce(max(id), 0) + 1 FROM gis_addresses) AS a,"
    " (SELECT coalesce(max(id), 0) + 1 FROM gis_places) AS p"
)

_CONNECT = text(
    """
    INSERT INTO gis_road_edges (region, osm_way_id, source, target, cost_s, reverse_cost_s,
                                length_m, highway, geom)
    SELECT :city, 0, a.id, b.id, c.m / :speed, c.m / :speed, c.m, 'trunk',
           ST_MakeLine(a.geom, b.geom)
    FROM unnest(CAST(:src AS bigint[]), CAST(:dst AS bigint[]), CAST(:m AS float8[]))
        AS c(src, dst, m)
    JOIN gis_road_vertices a ON a.id = c.src
    JOIN gis_road_vertices b ON b.id = c.dst
    """
).bindparams(
    bindparam("src", type_=ARRAY(BigInteger)),
    bindparam("dst", type_=ARRAY(BigInteger)),
    bindparam("m", type_=ARRAY(Float)),
)


def _pairs(
    near: np.ndarray, far: np.ndarray, links: int, rng: random.Random
) -> list[tuple[int, int]]:
    """``links`` rows of ``near`` (drawn) each with its nearest row of ``far`` (indices)."""
    chosen = sorted(rng.sample(range(len(near)), min(links, len(near))))
    out = []
    for n in chosen:
        d = (far[:, 0] - near[n, 0]) ** 2 + (far[:, 1] - near[n, 1]) ** 2
        out.append((n, int(np.argmin(d))))
    return out


async def build_city(
    conn: AsyncConnection,
    base: str,
    city: str,
    cols: int,
    rows: int,
    *,
    links: int = 8,
    seed: int = 1,
) -> City:
    """Write region ``city``: ``base``'s roads tiled ``cols x rows``, stitched (see above)."""
    if cols < 1 or rows < 1 or cols * rows < 2:
        raise InvalidInput(
            "a city needs at least two tiles (cols x rows)", code="bench.tiles_too_few"
        )
    if links < 1:
        raise InvalidInput("at least one connector per border", code="bench.links_too_few")
    started = time.perf_counter()
    ext = (await conn.execute(_EXTENT, {"r": base})).one()
    if ext.x0 is None:
        raise InvalidInput(
            f"region {base!r} has no roads to tile", code="bench.no_roads", region=base
        )
    w, h = float(ext.x1 - ext.x0), float(ext.y1 - ext.y0)
    network = await routing_sql.main_network(conn, base)
    main = (await conn.execute(_MAIN_VERTICES, {"r": base, "iso": list(network.isolated)})).all()
    ids = np.array([r.id for r in main], dtype=np.int64)
    xy = np.array([(r.lon, r.lat) for r in main], dtype=np.float64)
    stride = int(await conn.scalar(text("SELECT max(id) + 1 FROM gis_road_vertices")) or 1)
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    east = np.flatnonzero(xy[:, 0] >= ext.x1 - BAND * w)
    west = np.flatnonzero(xy[:, 0] <= ext.x0 + BAND * w)
    north = np.flatnonzero(xy[:, 1] >= ext.y1 - BAND * h)
    south = np.flatnonzero(xy[:, 1] <= ext.y0 + BAND * h)
    # (vertex in this tile, vertex in the neighbour) as base indices, the neighbour translated
    across = [
        (int(east[a]), int(west[b])) for a, b in _pairs(xy[east], xy[west] + (w, 0.0), links, rng)
    ]
    up = [
        (int(north[a]), int(south[b]))
        for a, b in _pairs(xy[north], xy[south] + (0.0, h), links, rng)
    ]

    def k(i: int, j: int) -> int:
        return 1 + i * rows + j

    src: list[int] = []
    dst: list[int] = []
    metres: list[float] = []
    for i in range(cols):
        for j in range(rows):
            for di, dj, pairs in ((1, 0, across), (0, 1, up)):
                if i + di >= cols or j + dj >= rows:
                    continue
                for a, b in pairs:
                    src.append(int(ids[a]) + k(i, j) * stride)
                    dst.append(int(ids[b]) + k(i + di, j + dj) * stride)
                    far = xy[b] + (w * di, h * dj)
                    metres.append(
                        float(sphere_m(xy[a, :1], xy[a, 1:], np.array([far[0]]), far[1:])[0])
                    )
    params = {"base": base, "city": city, "stride": stride, "w": w, "h": h}
    params |= {"cols": cols, "rows": rows}
    await conn.execute(
        text(
            "INSERT INTO gis_regions (name, srid_metric, bbox, imported_at, source, stats)"
            " SELECT :city, srid_metric, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326), now(),"
            " :source, '{}' FROM gis_regions WHERE name = :base"
        ),
        {
            "city": city,
            "base": base,
            "x0": ext.x0,
            "y0": ext.y0,
            "x1": ext.x0 + cols * w,
            "y1": ext.y0 + rows * h,
            "source": f"{base} roads tiled {cols}x{rows}, {links} links per border, seed {seed}",
        },
    )
    await conn.execute(_COPY_VERTICES, params)
    await conn.execute(_COPY_EDGES, params)
    strides = (await conn.execute(_STRIDES)).one()
    params |= {"jstride": strides.j, "sstride": strides.s, "astride": strides.a}
    for statement in _COPY_MAP:
        await conn.execute(statement, params)
    # the first tile, k = 1
    await conn.execute(
        _COPY_PLACES,
        {"base": base, "city": city, "pstride": strides.p, "jstride": strides.j},
    )
    await conn.execute(
        _CONNECT, {"city": city, "src": src, "dst": dst, "m": metres, "speed": CONNECTOR_SPEED_MPS}
    )
    await conn.execute(
        text("SELECT setval('gis_road_vertices_id_seq', (SELECT max(id) FROM gis_road_vertices))")
    )
    counts = (
        await conn.execute(
            text(
                "SELECT (SELECT count(*) FROM gis_road_vertices WHERE region = :c) AS v,"
                " (SELECT count(*) FROM gis_road_edges WHERE region = :c) AS e"
            ),
            {"c": city},
        )
    ).one()
    return City(
        region=city,
        base=base,
        cols=cols,
        rows=rows,
        vertices=int(counts.v),
        edges=int(counts.e),
        connectors=len(src),
        seconds=time.perf_counter() - started,
    )


def parse_tiles(value: str) -> tuple[int, int]:
    found = TILES.match(value.strip())
    if not found:
        raise InvalidInput(
            f"--tiles must be COLSxROWS such as 6x6, got {value!r}",
            code="bench.tiles_invalid",
            value=value,
        )
    cols, rows = int(found[1]), int(found[2])
    if cols * rows < 2:
        raise InvalidInput("--tiles must make at least two tiles", code="bench.tiles_too_few")
    return cols, rows
