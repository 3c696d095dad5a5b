"""The in-memory road graph on a hand-made network (no database): one-way streets, parallel
edges, a piece cut off from the main network, a destination right on a junction."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from shapely.geometry import LineString

from gis.roadgraph import RegionStamp, RoadGraph, build_graph

X0, Y0, STEP = 9.5, 47.0, 0.01
A, B, C = (X0, Y0), (X0 + STEP, Y0), (X0 + STEP, Y0 + STEP)
FAR = (X0 + 0.02, Y0 + 0.02)  # a one-way stub beside the network, cut off from it


def network() -> RoadGraph:
    # id, source, target, cost, reverse cost, line
    edges = [
        (10, 1, 2, 60.0, 60.0, LineString([A, B])),
        (11, 1, 2, 30.0, 30.0, LineString([A, B])),  # the same street, faster
        (12, 2, 3, 60.0, -1.0, LineString([B, C])),  # one way, northwards
        (13, 3, 1, 100.0, -1.0, LineString([C, A])),  # one way, back to the start
        (14, 4, 5, 20.0, -1.0, LineString([FAR, (FAR[0] + STEP, FAR[1])])),
    ]
    return build_graph(
        "test",
        RegionStamp(1, datetime(2026, 12, 1, tzinfo=UTC)),
        ids=np.array([e[0] for e in edges], dtype=np.int64),
        source=np.array([e[1] for e in edges], dtype=np.int64),
        target=np.array([e[2] for e in edges], dtype=np.int64),
        cost=np.array([e[3] for e in edges]),
        reverse=np.array([e[4] for e in edges]),
        lines=np.array([e[5] for e in edges], dtype=object),
    )


def test_the_piece_off_the_main_network_is_found_and_never_snapped_to() -> None:
    graph = network()
    assert sorted(graph.isolated.tolist()) == [4, 5]
    assert graph.snap.ids.tolist() == [10, 11, 12, 13]
    assert graph.edges == 5
    assert graph.nbytes > 0


def test_one_way_streets_and_the_faster_of_two_parallel_edges() -> None:
    graph = network()
    # C to B: against the one-way 12, so round by 13 (100) and the fast 11 (30).
    # B to C: along 12. A destination exactly on a junction joins it at no cost.
    assert graph.drive_times([C], B) == [pytest.approx(130.0)]
    assert graph.drive_times([B], C) == [pytest.approx(60.0)]
    assert graph.drive_times([A, B], B) == [pytest.approx(30.0), pytest.approx(0.0)]


def test_halfway_along_an_edge_counts_half_its_cost() -> None:
    graph = network()
    middle = ((A[0] + B[0]) / 2, Y0)
    # on edge 10 (ties by id): half of 60 to B, or half of 60 back to A and then 13 is closed
    assert graph.drive_times([middle], B) == [pytest.approx(30.0)]
    # to C: half of 60 to B, then 60 up the one-way
    assert graph.drive_times([middle], C) == [pytest.approx(90.0)]


def test_places_far_from_every_road_have_no_drive_time() -> None:
    graph = network()
    assert graph.drive_times([(X0 + 1.0, Y0)], B) == [None]
    assert graph.drive_times([A, B], (X0 + 1.0, Y0)) == [None, None]
    assert graph.drive_times([], B) == []


def test_a_unit_on_the_cut_off_piece_joins_the_main_network_instead() -> None:
    graph = network()
    # its nearest usable street is 12 (the north-south one, 1.1 km away), off road at 15 km/h
    found = graph.drive_times([FAR], B)[0]
    assert found is not None
    assert found > 200.0


def test_searches_one_after_another_do_not_leak_into_each_other() -> None:
    graph = network()
    first = graph.drive_times([A, C], B)
    graph.drive_times([B], C)
    assert graph.drive_times([A, C], B) == first
