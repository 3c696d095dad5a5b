"""The in-memory road graph against pgRouting on the real Liechtenstein map: the same drive
times for random units (cut-off road pieces and places off the map included), the same main
network, and a re-import picked up by the next call."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.bench.scenarios import random_road_points
from gis import coords, routing_sql
from gis.osm_import import import_osm
from gis.routing import RoadGraphs
from tests.support import dispatch_builders as b

MUNICH = b.PBF.parent / "munich.osm.pbf"
MARIENPLATZ = (11.5755, 48.1374)
STACHUS = (11.5654, 48.1391)

# Midpoints of edges off the main network, and vertices that touch an open edge.
CUT_OFF_MIDPOINTS = """
SELECT ST_X(ST_LineInterpolatePoint(geom, 0.5)) AS lon, ST_Y(ST_LineInterpolatePoint(geom, 0.5))
       AS lat
FROM gis_road_edges WHERE region = :r AND (source = ANY(:iso) OR target = ANY(:iso))
ORDER BY id LIMIT 15
"""
OPEN_VERTICES = """
SELECT source FROM gis_road_edges WHERE region = :r AND (cost_s >= 0 OR reverse_cost_s >= 0)
UNION SELECT target FROM gis_road_edges WHERE region = :r AND (cost_s >= 0 OR reverse_cost_s >= 0)
"""


def _agree(mine: dict[str, float | None], theirs: dict[str, float | None]) -> None:
    assert mine.keys() == theirs.keys()
    for ident, seconds in mine.items():
        other = theirs[ident]
        assert (seconds is None) == (other is None), (ident, seconds, other)
        if seconds is not None and other is not None:
            assert seconds == pytest.approx(other, rel=1e-9, abs=1e-6), ident


async def test_drive_times_equal_pgrouting_on_liechtenstein(map_engine: AsyncEngine) -> None:
    roads = RoadGraphs()
    rng = random.Random(20261202)
    async with map_engine.connect() as conn:
        network = await routing_sql.main_network(conn, b.REGION)
        graph = await roads.graph(conn, b.REGION)
        opened = set((await conn.execute(text(OPEN_VERTICES), {"r": b.REGION})).scalars())
        # the same main network as pgr_strongComponents (vertices of closed roads aside)
        assert set(network.isolated) == set(graph.isolated.tolist()) & opened
        cut_off = (
            await conn.execute(
                text(CUT_OFF_MIDPOINTS), {"r": b.REGION, "iso": list(network.isolated)}
            )
        ).all()
        assert cut_off, "the extract has road pieces off the main network"
        checked = 0
        for _ in range(6):
            points = await random_road_points(conn, b.REGION, 121, rng)
            units = [(f"u{n}", lon, lat) for n, (lon, lat) in enumerate(points[1:])]
            # beside the roads (50-300 m off), on cut-off pieces, and far outside the map
            for n in range(20):
                lon, lat = points[1 + n]
                units.append(
                    (
                        f"off{n}",
                        *coords.destination(lon, lat, rng.uniform(0, 360), rng.uniform(50, 300)),
                    )
                )
            units += [(f"cut{n}", r.lon, r.lat) for n, r in enumerate(cut_off)]
            units += [("zurich", *b.ZURICH)]
            mine = await roads.drive_times(conn, b.REGION, units, points[0])
            theirs = await routing_sql.drive_times(conn, b.REGION, units, points[0], network)
            _agree(mine, theirs)
            assert mine["zurich"] is None
            assert all(mine[f"cut{n}"] is not None for n in range(len(cut_off)))
            checked += sum(1 for v in mine.values() if v is not None)
        # an incident off the map: nobody can reach it, both ways
        units = [("a", *b.VADUZ_CENTRE), ("b", *b.SCHAAN_CENTRE)]
        assert await roads.drive_times(conn, b.REGION, units, b.ZURICH) == {"a": None, "b": None}
        assert await routing_sql.drive_times(conn, b.REGION, units, b.ZURICH, network) == {
            "a": None,
            "b": None,
        }
    assert checked > 6 * 150


async def test_a_reimported_region_is_read_again(map_engine: AsyncEngine) -> None:
    roads = RoadGraphs()
    units = [("vaduz", *b.VADUZ_CENTRE), ("stachus", *STACHUS)]
    assert roads.held() == []
    await roads.warm(map_engine)
    assert roads.held() == [b.REGION]
    async with map_engine.connect() as conn:
        before = await roads.graph(conn, b.REGION)
        first = await roads.drive_times(conn, b.REGION, units, b.SCHAAN_CENTRE)
        assert await roads.graph(conn, b.REGION) is before  # kept while the import stays
    assert first["vaduz"] is not None
    assert first["stachus"] is None
    # The region's name now holds another map (a complete replacement, one transaction).
    await import_osm(map_engine, Path(MUNICH), b.REGION)
    async with map_engine.connect() as conn:
        again = await roads.drive_times(conn, b.REGION, units, MARIENPLATZ)
        after = await roads.graph(conn, b.REGION)
        network = await routing_sql.main_network(conn, b.REGION)
        theirs = await routing_sql.drive_times(conn, b.REGION, units, MARIENPLATZ, network)
    assert after is not before
    assert after.stamp.generation == before.stamp.generation + 1
    assert again["vaduz"] is None
    assert again["stachus"] is not None
    _agree(again, theirs)
