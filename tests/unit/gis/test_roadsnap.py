"""The in-memory half of drive times: snapping points to roads and the virtual edges that join
them to the graph (no database)."""

from __future__ import annotations

import numpy as np
import pytest
from shapely import STRtree
from shapely.geometry import LineString

from gis import coords, roadsnap

X0, Y0, STEP = 9.5, 47.0, 0.01


def roads(edges: list[tuple[int, int, int, float, float, LineString]]) -> roadsnap.SnapIndex:
    lines = np.array([e[5] for e in edges], dtype=object)
    return roadsnap.SnapIndex(
        ids=np.array([e[0] for e in edges], dtype=np.int64),
        source=np.array([e[1] for e in edges], dtype=np.int64),
        target=np.array([e[2] for e in edges], dtype=np.int64),
        cost=np.array([e[3] for e in edges], dtype=np.float64),
        reverse=np.array([e[4] for e in edges], dtype=np.float64),
        lines=lines,
        tree=STRtree(lines),
    )


# Two parallel east-west streets 0.01 deg apart; the northern one is one way, eastwards.
SOUTH = LineString([(X0, Y0), (X0 + STEP, Y0)])
NORTH = LineString([(X0, Y0 + STEP), (X0 + STEP, Y0 + STEP)])
STREETS = roads([(10, 1, 2, 60.0, 60.0, SOUTH), (11, 3, 4, 60.0, -1.0, NORTH)])


def test_units_snap_to_their_nearest_street() -> None:
    snaps = roadsnap.snaps(
        STREETS,
        [X0 + 0.25 * STEP, X0 + 0.75 * STEP],
        [Y0 + 0.001, Y0 + STEP - 0.001],
        (X0 + 0.5 * STEP, Y0),
    )
    by_point = {s.point: s for s in snaps if s.point > 0}
    assert STREETS.ids[by_point[1].edge] == 10
    assert STREETS.ids[by_point[2].edge] == 11
    assert by_point[1].f == pytest.approx(0.25)
    assert by_point[2].f == pytest.approx(0.75)
    # 0.001 degree of latitude is about 111 m
    assert by_point[1].off_m == pytest.approx(
        coords.distance_m(X0 + 0.25 * STEP, Y0 + 0.001, X0 + 0.25 * STEP, Y0), rel=5e-3
    )


def test_destination_joins_every_street_within_the_tolerance() -> None:
    # Halfway between the two streets (about 555 m from each): both are equally near.
    middle = (X0 + 0.5 * STEP, Y0 + 0.5 * STEP)
    snaps = [s for s in roadsnap.snaps(STREETS, [], [], middle) if s.point == 0]
    assert sorted(int(STREETS.ids[s.edge]) for s in snaps) == [10, 11]
    # Close to the south street: the north one is far beyond the tolerance.
    near_south = (X0 + 0.5 * STEP, Y0 + 0.0001)
    snaps = [s for s in roadsnap.snaps(STREETS, [], [], near_south) if s.point == 0]
    assert [int(STREETS.ids[s.edge]) for s in snaps] == [10]


def test_equally_near_streets_are_chosen_by_id() -> None:
    # A point on the shared end of two streets: the lower id wins, every time.
    east = LineString([(X0 + STEP, Y0), (X0 + 2 * STEP, Y0)])
    two = roads([(21, 2, 5, 60.0, 60.0, east), (20, 1, 2, 60.0, 60.0, SOUTH)])
    for _ in range(3):
        snaps = roadsnap.snaps(two, [X0 + STEP], [Y0], (X0, Y0))
        unit = [s for s in snaps if s.point == 1]
        assert [int(two.ids[s.edge]) for s in unit] == [20]


def test_points_far_from_every_road_are_not_snapped() -> None:
    snaps = roadsnap.snaps(STREETS, [X0 + 1.0], [Y0], (X0, Y0))
    assert [s.point for s in snaps if s.point > 0] == []


def test_virtual_edges_respect_one_way_streets() -> None:
    base = roadsnap.VIRTUAL_BASE
    unit_south = roadsnap.Snap(point=1, edge=0, f=0.25, off_m=0.0)
    unit_north = roadsnap.Snap(point=2, edge=1, f=0.5, off_m=41.666666666666664)
    dest = roadsnap.Snap(point=0, edge=0, f=0.75, off_m=0.0)
    edges = {
        (a, b, round(c, 6))
        for a, b, c in roadsnap.virtual_edges(STREETS, [dest, unit_south, unit_north])
    }
    slow = round(41.666666666666664 / roadsnap.OFFROAD_SPEED_MPS, 6)
    assert edges == {
        (1, base, 45.0),  # the destination from the south street's west end...
        (2, base, 15.0),  # ...and from its east end
        (base + 1, 2, 45.0),  # the south unit towards either end
        (base + 1, 1, 15.0),
        (base + 1, base, 30.0),  # and along the street it shares with the destination
        # one way eastwards: the north unit only towards the east end (vertex 4)
        (base + 2, 4, round(slow + 30.0, 6)),
    }


def test_sphere_distance_matches_the_ellipsoid_within_half_a_percent() -> None:
    lons = np.array([9.5, 116.4, -74.0])
    lats = np.array([47.1, 39.9, 40.7])
    far_lons = lons + 0.05
    far_lats = lats + 0.03
    sphere = roadsnap.sphere_m(lons, lats, far_lons, far_lats)
    for n in range(3):
        exact = coords.distance_m(lons[n], lats[n], far_lons[n], far_lats[n])
        assert sphere[n] == pytest.approx(exact, rel=5e-3)
