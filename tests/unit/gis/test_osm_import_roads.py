"""The road graph: speeds, one-way rules, splitting ways at shared nodes."""

from __future__ import annotations

import pytest

from gis.osm_import_parse import RoadWay
from gis.osm_import_roads import build_graph, oneway_direction, parse_maxspeed


@pytest.mark.parametrize(
    ("value", "kmh"),
    [
        ("50", 50.0),
        ("30 mph", 48.28032),
        ("DE:urban", 50.0),
        ("walk", 7.0),
        ("none", 130.0),
        ("fast", None),
        (None, None),
        ("0", None),
    ],
)
def test_maxspeed(value: str | None, kmh: float | None) -> None:
    assert parse_maxspeed(value) == (pytest.approx(kmh) if kmh is not None else None)


@pytest.mark.parametrize(
    ("tags", "direction"),
    [
        ({"highway": "residential"}, 0),
        ({"highway": "residential", "oneway": "yes"}, 1),
        ({"highway": "residential", "oneway": "-1"}, -1),
        ({"highway": "primary", "junction": "roundabout"}, 1),
        ({"highway": "motorway"}, 1),
        ({"highway": "motorway", "oneway": "no"}, 0),
    ],
)
def test_oneway(tags: dict[str, str], direction: int) -> None:
    assert oneway_direction(tags) == direction


def test_ways_split_at_shared_nodes_with_one_way_costs() -> None:
    # A T junction: way 1 runs 1-2-3, way 2 (one-way) runs 2-4; node 2 is shared.
    coords = {1: (9.50, 47.10), 2: (9.51, 47.10), 3: (9.52, 47.10), 4: (9.51, 47.11)}
    ways = [
        RoadWay(1, {"highway": "residential"}, [1, 2, 3], [coords[n] for n in (1, 2, 3)]),
        RoadWay(
            2,
            {"highway": "residential", "oneway": "yes", "maxspeed": "50"},
            [2, 4],
            [coords[n] for n in (2, 4)],
        ),
    ]
    graph = build_graph(ways)
    assert sorted(graph.vertex_nodes) == [1, 2, 3, 4]
    assert len(graph.edges) == 3
    by_way = {(e.osm_way_id, graph.vertex_nodes[e.source]): e for e in graph.edges}
    first = by_way[(1, 1)]
    assert graph.vertex_nodes[first.target] == 2
    assert first.length_m == pytest.approx(760, rel=0.02)  # 0.01° of longitude at 47.1°N
    assert first.cost_s == pytest.approx(first.length_m / (30 / 3.6))
    assert first.reverse_cost_s == first.cost_s
    oneway = by_way[(2, 2)]
    assert oneway.cost_s == pytest.approx(oneway.length_m / (50 / 3.6))
    assert oneway.reverse_cost_s == -1.0
