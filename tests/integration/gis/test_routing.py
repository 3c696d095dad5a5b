"""Drive times and routes: exact answers on a small hand-built grid, then the real Liechtenstein
network (physical bounds, route geometry, units on cut-off road pieces).
"""

from __future__ import annotations

import itertools
import math

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gis import coords, roadsnap
from gis.errors import InvalidCoordinates, InvalidInput, RegionNotFoundError
from gis.routing import RoadGraphs

REGION = "liechtenstein"
STEP = 0.01  # grid spacing in degrees
X0, Y0 = 9.5, 47.0


async def build_grid(conn: AsyncConnection) -> dict[tuple[int, int], int]:
    """A 3 x 3 grid of 60-second streets; the middle column runs one way, northwards only.

    Row r, column c lies at (X0 + c * STEP, Y0 + r * STEP).
    """
    await conn.execute(
        text(
            "INSERT INTO gis_regions (name, srid_metric, imported_at, bbox) VALUES "
            "('grid', 32632, now(), ST_MakeEnvelope(9.49, 46.99, 9.53, 47.03, 4326))"
        )
    )
    ids: dict[tuple[int, int], int] = {}
    for r in range(3):
        for c in range(3):
            ids[r, c] = int(
                await conn.scalar(
                    text(
                        "INSERT INTO gis_road_vertices (region, geom) VALUES "
                        "('grid', ST_SetSRID(ST_MakePoint(:x, :y), 4326)) RETURNING id"
                    ),
                    {"x": X0 + c * STEP, "y": Y0 + r * STEP},
                )
            )

    async def edge(a: tuple[int, int], b: tuple[int, int], cost: float, reverse: float) -> None:
        await conn.execute(
            text(
                "INSERT INTO gis_road_edges (region, osm_way_id, source, target, cost_s,"
                " reverse_cost_s, length_m, highway, geom)"
                " SELECT 'grid', 1, a.id, b.id, :cost, :reverse,"
                "  ST_Length(ST_MakeLine(a.geom, b.geom)::geography), 'residential',"
                "  ST_MakeLine(a.geom, b.geom)"
                " FROM gis_road_vertices a, gis_road_vertices b WHERE a.id = :a AND b.id = :b"
            ),
            {"a": ids[a], "b": ids[b], "cost": cost, "reverse": reverse},
        )

    for r in range(3):
        for c in range(2):
            await edge((r, c), (r, c + 1), 60.0, 60.0)
    for r in range(2):
        for c in range(3):
            await edge((r, c), (r + 1, c), 60.0, -1.0 if c == 1 else 60.0)
    return ids


def at(r: float, c: float) -> tuple[float, float]:
    return (X0 + c * STEP, Y0 + r * STEP)


async def test_grid_drive_times_follow_one_way_rules(engine: AsyncEngine) -> None:
    roads = RoadGraphs()
    async with engine.begin() as conn:
        await build_grid(conn)
        dest = at(2, 1)  # top middle
        units = [
            ("corner", *at(0, 0)),  # east 60, north twice up the one-way: 180
            ("beside", *at(2, 2)),  # west 60
            ("mid-edge", *at(0, 0.5)),  # half an edge (30), then up the one-way: 150
            ("far-off", 9.9, 47.0),  # 30 km from any road
        ]
        times = await roads.drive_times(conn, "grid", units, dest)
        assert times["corner"] == pytest.approx(180.0)
        assert times["beside"] == pytest.approx(60.0)
        assert times["mid-edge"] == pytest.approx(150.0)
        assert times["far-off"] is None
        # Against the one-way: from the top middle down to the bottom row goes round: 30+60+60+60.
        back = await roads.drive_times(conn, "grid", [("down", *dest)], at(0, 0.5))
        assert back["down"] == pytest.approx(210.0)


async def test_grid_offroad_distance_costs_slow_time(engine: AsyncEngine) -> None:
    roads = RoadGraphs()
    async with engine.begin() as conn:
        await build_grid(conn)
        on_road = await roads.drive_times(conn, "grid", [("u", *at(0, 0.5))], at(2, 1))
        # 100 m south of the same spot, off the grid
        off = coords.destination(*at(0, 0.5), 180.0, 100.0)
        off_road = await roads.drive_times(conn, "grid", [("u", *off)], at(2, 1))
        extra = 100.0 / roadsnap.OFFROAD_SPEED_MPS
        assert off_road["u"] == pytest.approx(on_road["u"] + extra, abs=0.5)  # type: ignore[operator]


async def test_grid_unit_on_the_incident_edge(engine: AsyncEngine) -> None:
    roads = RoadGraphs()
    async with engine.begin() as conn:
        await build_grid(conn)
        # Both on the bottom edge (0,0)-(0,1): a quarter of 60 s apart.
        times = await roads.drive_times(conn, "grid", [("u", *at(0, 0.25))], at(0, 0.5))
        assert times["u"] == pytest.approx(15.0)
        # On the one-way middle column, downhill is closed: go round.
        up = await roads.drive_times(conn, "grid", [("u", *at(0.25, 1))], at(0.75, 1))
        down = await roads.drive_times(conn, "grid", [("u", *at(0.75, 1))], at(0.25, 1))
        assert up["u"] == pytest.approx(30.0)
        assert down["u"] is not None
        assert down["u"] > 150.0


async def test_grid_route_geometry_follows_the_streets(engine: AsyncEngine) -> None:
    roads = RoadGraphs()
    async with engine.begin() as conn:
        await build_grid(conn)
        found = await roads.route(conn, "grid", at(0, 0.5), at(2, 1))
        assert found is not None
        assert found.seconds == pytest.approx(150.0)
        assert found.geometry["type"] == "LineString"
        expected = [at(0, 0.5), at(0, 1), at(1, 1), at(2, 1)]
        got = found.geometry["coordinates"]
        assert len(got) == len(expected)
        for point, want in zip(got, expected, strict=True):
            assert tuple(point) == pytest.approx(want, abs=1e-7)
        expected_m = coords.line_length_m([at(0, 0.5), at(0, 1), at(2, 1)])
        assert found.metres == pytest.approx(expected_m, rel=1e-3)
        # The other way round must avoid the one-way column.
        back = await roads.route(conn, "grid", at(2, 1), at(0, 0.5))
        assert back is not None
        assert back.seconds == pytest.approx(210.0)
        assert [round(x, 6) for x in back.geometry["coordinates"][1]] == [
            round(v, 6) for v in at(2, 0)
        ]
        assert await roads.route(conn, "grid", (9.9, 47.0), at(2, 1)) is None


async def test_bad_input_is_refused(engine: AsyncEngine) -> None:
    roads = RoadGraphs()
    async with engine.connect() as conn:
        with pytest.raises(InvalidCoordinates, match="latitude 95"):
            await roads.drive_times(conn, "grid", [("u", 9.5, 95.0)], (9.5, 47.0))
        with pytest.raises(InvalidCoordinates, match="latitude 95"):
            await roads.route(conn, "grid", (9.5, 47.0), (9.5, 95.0))
        with pytest.raises(InvalidInput, match="given twice"):
            await roads.drive_times(conn, "grid", [("u", 9.5, 47.0), ("u", 9.6, 47.0)], (9.5, 47))
        with pytest.raises(RegionNotFoundError, match="nowhere"):
            await roads.drive_times(conn, "nowhere", [("u", 9.5, 47.0)], (9.5, 47.0))
        with pytest.raises(RegionNotFoundError, match="nowhere"):
            await roads.route(conn, "nowhere", (9.5, 47.0), (9.51, 47.0))
        assert await roads.drive_times(conn, "grid", [], (9.5, 47.0)) == {}


# --- Liechtenstein -------------------------------------------------------------------------

VADUZ_TOWN_HALL = (9.5215, 47.1397)
SCHAAN_CENTRE = (9.5093, 47.1661)
MAX_SPEED_MPS = 130 / 3.6

# Midpoints of road edges outside the main strongly connected network.
ISOLATED_EDGE_MIDPOINTS = """
WITH comp AS (
    SELECT node, component FROM pgr_strongComponents(
        'SELECT id, source, target, cost_s AS cost, reverse_cost_s AS reverse_cost '
        'FROM gis_road_edges WHERE region = ''liechtenstein''')
),
main AS (SELECT component FROM comp GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)
SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (
    SELECT ST_LineInterpolatePoint(e.geom, 0.5) AS p
    FROM gis_road_edges e JOIN comp ON comp.node = e.source
    WHERE e.region = 'liechtenstein' AND comp.component <> (SELECT component FROM main)
    ORDER BY e.id LIMIT 10
) x
"""


async def test_liechtenstein_route_matches_drive_time(liechtenstein: AsyncEngine) -> None:
    roads = RoadGraphs()
    async with liechtenstein.connect() as conn:
        found = await roads.route(conn, REGION, SCHAAN_CENTRE, VADUZ_TOWN_HALL)
        times = await roads.drive_times(conn, REGION, [("u", *SCHAAN_CENTRE)], VADUZ_TOWN_HALL)
    assert found is not None
    assert found.seconds == pytest.approx(times["u"])
    straight = coords.distance_m(*SCHAAN_CENTRE, *VADUZ_TOWN_HALL)
    # About 3 km apart: a few minutes by road, and the road is longer than the crow flies.
    assert 120 < found.seconds < 900
    assert straight <= found.metres < 3 * straight
    line = found.geometry["coordinates"]
    assert coords.distance_m(line[0][0], line[0][1], *SCHAAN_CENTRE) < 1.0
    assert coords.distance_m(line[-1][0], line[-1][1], *VADUZ_TOWN_HALL) < 1.0
    assert coords.line_length_m([tuple(p) for p in line]) == pytest.approx(found.metres, rel=1e-3)
    # Consecutive points are close together: the line follows the roads, it does not jump.
    gaps = [coords.distance_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(line)]
    assert max(gaps) < 1000


async def test_liechtenstein_units_on_cut_off_road_pieces_still_get_times(
    liechtenstein: AsyncEngine,
) -> None:
    roads = RoadGraphs()
    async with liechtenstein.connect() as conn:
        # Midpoints of edges outside the main network (fragments at the borders, private bits).
        rows = (await conn.execute(text(ISOLATED_EDGE_MIDPOINTS))).all()
        assert rows, "the extract has road fragments off the main network"
        units = [(f"u{n}", r.lon, r.lat) for n, r in enumerate(rows)]
        times = await roads.drive_times(conn, REGION, units, VADUZ_TOWN_HALL)
    assert all(v is not None and math.isfinite(v) for v in times.values()), times
