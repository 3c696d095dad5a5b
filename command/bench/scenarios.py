"""Seeded scenarios for the routing benchmarks: random places on a region's roads."""

from __future__ import annotations

import random

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from command.errors import InvalidInput

_EDGE_IDS = text("SELECT id FROM gis_road_edges WHERE region = :region ORDER BY id")

_POINTS = text(
    "SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM ("
    " SELECT u.ord, ST_LineInterpolatePoint(e.geom, u.f) AS p"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:fs AS float8[]))"
    "  WITH ORDINALITY AS u(id, f, ord)"
    " JOIN gis_road_edges e ON e.id = u.id) x ORDER BY ord"
)


async def random_road_points(
    conn: AsyncConnection, region: str, count: int, rng: random.Random
) -> list[tuple[float, float]]:
    """``count`` points ``(lon, lat)`` at random places on the region's roads, drawn by ``rng``
    (a random edge, a random fraction along it)."""
    ids = (await conn.execute(_EDGE_IDS, {"region": region})).scalars().all()
    if not ids:
        raise InvalidInput(
            f"region {region!r} has no road network to route on",
            code="bench.no_roads",
            region=region,
        )
    chosen = [int(rng.choice(ids)) for _ in range(count)]
    fractions = [rng.random() for _ in range(count)]
    rows = await conn.execute(_POINTS, {"ids": chosen, "fs": fractions})
    return [(float(r.lon), float(r.lat)) for r in rows]
