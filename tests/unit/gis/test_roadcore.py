"""The core search against a plain search of the whole graph, on generated road networks:
junctions on a grid, streets split into chains, dead-end branches, one-way streets, and
destinations anywhere (on the core, inside a chain, at the end of a branch)."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from gis.roadcore import Core, build_core, min_csr

SLOTS = 24


def network(rng: random.Random) -> tuple[int, list[tuple[int, int, float, float]]]:
    """Vertices and forward edges ``(a, b, cost a->b, cost b->a)``, -1 closing a direction."""
    edges: list[tuple[int, int, float, float]] = []
    side = 6
    count = side * side

    def road(a: int, b: int) -> None:
        nonlocal count
        pieces = rng.randint(1, 3)
        stops = [a] + [count + k for k in range(pieces - 1)] + [b]
        count += pieces - 1
        one_way = rng.random() < 0.25
        for u, v in itertools.pairwise(stops):
            cost = rng.uniform(5, 60)
            back = -1.0 if one_way else cost * rng.uniform(0.8, 1.2)
            if rng.random() < 0.5:
                edges.append((u, v, cost, back))
            else:
                edges.append((v, u, back, cost))

    for r in range(side):
        for c in range(side):
            here = r * side + c
            if c + 1 < side:
                road(here, here + 1)
            if r + 1 < side:
                road(here, here + side)
    for _ in range(25):  # dead-end branches, some forking, some one-way
        at = rng.randrange(count)
        for _ in range(rng.randint(1, 4)):
            leaf = count
            count += 1
            cost = rng.uniform(5, 60)
            edges.append((at, leaf, cost, -1.0 if rng.random() < 0.1 else cost))
            at = leaf if rng.random() < 0.6 else at
    edges.append((0, 0, 3.0, 3.0))  # a loop on itself
    edges.append((1, 0, 1.0, 1.0))  # a parallel, faster street
    return count, edges


def reversed_arcs(
    edges: list[tuple[int, int, float, float]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols, weights = [], [], []
    for a, b, cost, back in edges:
        if cost >= 0:
            rows.append(b)
            cols.append(a)
            weights.append(cost)
        if back >= 0:
            rows.append(a)
            cols.append(b)
            weights.append(back)
    return np.array(rows), np.array(cols), np.array(weights)


def plain(
    n: int, arcs: tuple[np.ndarray, np.ndarray, np.ndarray], into: dict[int, float]
) -> np.ndarray:
    rows, cols, weights = arcs
    rows = np.concatenate((rows, np.full(len(into), n)))
    cols = np.concatenate((cols, list(into)))
    weights = np.concatenate((weights, list(into.values())))
    found: np.ndarray = dijkstra(min_csr(rows, cols, weights, n + 1), directed=True, indices=n)
    return found[:n]


def through_core(core: Core, into: dict[int, float]) -> np.ndarray:
    entries, inside = core.entries(into)
    graph = core.graph
    start = graph.indptr[core.size]
    graph.indices[start : start + SLOTS] = core.size
    graph.data[start : start + SLOTS] = 0.0
    graph.indices[start : start + len(entries)] = list(entries)
    graph.data[start : start + len(entries)] = list(entries.values())
    found = dijkstra(graph, directed=True, indices=core.size)
    return core.distances(np.arange(core.full.shape[0]), found, inside)


@pytest.mark.parametrize("seed", range(6))
def test_the_core_search_equals_the_whole_graphs(seed: int) -> None:
    rng = random.Random(seed)
    n, edges = network(rng)
    arcs = reversed_arcs(edges)
    core = build_core(min_csr(*arcs, n), SLOTS)
    assert core.size < 0.6 * n  # chains and branches are out of the search
    for _ in range(30):
        into = {rng.randrange(n): rng.uniform(0, 30) for _ in range(rng.randint(1, 4))}
        want = plain(n, arcs, into)
        got = through_core(core, into)
        assert np.array_equal(np.isinf(want), np.isinf(got))
        finite = np.isfinite(want)
        assert got[finite] == pytest.approx(want[finite], rel=1e-12, abs=1e-9)


def test_a_tree_with_no_cycle_is_left_whole() -> None:
    # a road with a fork and no cycle anywhere: nothing to contract it onto
    edges = [(0, 1, 10.0, 10.0), (1, 2, 10.0, -1.0), (1, 3, 5.0, 5.0)]
    arcs = reversed_arcs(edges)
    core = build_core(min_csr(*arcs, 4), SLOTS)
    assert core.size == 4
    got = through_core(core, {2: 0.0})
    assert got.tolist() == [20.0, 10.0, 0.0, 15.0]
