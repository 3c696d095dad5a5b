"""One region's road graph held in memory, and drive times from many points to one.

:func:`build_graph` turns the region's directed, costed edges (one import's worth) into a
compact sparse graph (``scipy.sparse`` CSR) *reversed*: every edge's two costs swapped, so
one Dijkstra search from the destination gives every vertex's drive time *to* it. The road
pieces cut off from the main network (everything outside the largest strongly connected
component) are found once, here, and left out of the snapping index (:mod:`gis.roadsnap`).

The search runs on the graph's core (:mod:`gis.roadcore`: dead-end branches and chains
between junctions taken out, a third of the vertices left on a city's roads). The destination
is a super-source: one extra core vertex whose few out-arcs (the destination's ways into the
core) live in reserved slots at the end of the CSR arrays and are overwritten for each
search, so the large arrays are never copied. An origin's drive time is then the best of its
own virtual edges plus the distance of the vertex they reach; an origin on the destination's
own edge also has the direct stretch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse.csgraph import connected_components, dijkstra
from shapely import STRtree

from gis.roadcore import Core, build_core, min_csr
from gis.roadsnap import (
    DEST_SNAP_CANDIDATES,
    VIRTUAL_BASE,
    SnapIndex,
    snaps,
    virtual_edges,
)

SCRATCH_SLOTS = 3 * 2 * DEST_SNAP_CANDIDATES
"""Out-arcs of the destination: each snapped edge joins it at both ends at most, and each of
those in a piece off the core enters the core at its piece's two attachments at most."""


@dataclass(frozen=True, slots=True)
class RegionStamp:
    """Which import of a region a graph was built from (``gis_regions``)."""

    generation: int
    imported_at: datetime


@dataclass(frozen=True)
class RoadGraph:
    """A region's road graph, one import's worth, ready for searches."""

    region: str
    stamp: RegionStamp
    vertex_ids: npt.NDArray[np.int64]
    """Sorted road vertex ids; graph vertex ``k`` is ``vertex_ids[k]``."""
    core: Core
    """The reversed graph and its core, where searches run."""
    isolated: npt.NDArray[np.int64]
    """Vertex ids off the main network (never snapped to)."""
    snap: SnapIndex
    edges: int
    """Road edges read (every direction closed or open)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def nbytes(self) -> int:
        """Bytes held in arrays (the geometries of the snapping index come on top)."""
        full = self.core.full
        arrays = [
            self.vertex_ids,
            full.data,
            full.indices,
            full.indptr,
            self.isolated,
            self.snap.ids,
            self.snap.source,
            self.snap.target,
            self.snap.cost,
            self.snap.reverse,
            self.snap.lines,
        ]
        return sum(int(a.nbytes) for a in arrays) + self.core.nbytes

    def drive_times(
        self, origins: Sequence[tuple[float, float]], dest: tuple[float, float]
    ) -> list[float | None]:
        """Seconds from each origin ``(lon, lat)`` to ``dest``, None where there is no way."""
        if not origins:
            return []
        found = snaps(self.snap, [o[0] for o in origins], [o[1] for o in origins], dest)
        virtual = virtual_edges(self.snap, found)
        into: dict[int, float] = {}
        unit: list[int] = []
        via: list[int] = []
        cost: list[float] = []
        for src, tgt, seconds in virtual:
            if tgt == VIRTUAL_BASE and src < VIRTUAL_BASE:
                # the graph is reversed: the destination's way in is its way out here
                into[src] = min(seconds, into.get(src, np.inf))
            else:
                unit.append(src - VIRTUAL_BASE)
                via.append(-1 if tgt == VIRTUAL_BASE else tgt)
                cost.append(seconds)
        if not into or not unit:
            return [None] * len(origins)
        vias = np.asarray(via, dtype=np.int64)
        onroad = vias >= 0
        ahead = np.zeros(len(vias))
        ahead[onroad] = self._search(into, np.searchsorted(self.vertex_ids, vias[onroad]))
        best = np.full(len(origins) + 1, np.inf)
        np.minimum.at(best, np.asarray(unit), np.asarray(cost) + ahead)
        return [float(v) if np.isfinite(v) else None for v in best[1:].tolist()]

    def _search(
        self, into: dict[int, float], wanted: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """Distances to the destination of the graph vertices ``wanted``; the destination is
        joined at ``into`` (vertex id -> seconds from that vertex to the destination)."""
        joins = np.searchsorted(self.vertex_ids, np.fromiter(into, dtype=np.int64))
        entries, inside = self.core.entries(
            {int(v): c for v, c in zip(joins.tolist(), into.values(), strict=True)}
        )
        graph = self.core.graph
        dest = self.core.size
        start = graph.indptr[dest]
        with self._lock:  # the scratch row is shared by every search on this graph
            graph.indices[start : start + SCRATCH_SLOTS] = dest
            graph.data[start : start + SCRATCH_SLOTS] = 0.0
            graph.indices[start : start + len(entries)] = list(entries)
            graph.data[start : start + len(entries)] = list(entries.values())
            distances: npt.NDArray[np.float64] = dijkstra(graph, directed=True, indices=dest)
        return self.core.distances(wanted, distances, inside)


def build_graph(
    region: str,
    stamp: RegionStamp,
    ids: npt.NDArray[np.int64],
    source: npt.NDArray[np.int64],
    target: npt.NDArray[np.int64],
    cost: npt.NDArray[np.float64],
    reverse: npt.NDArray[np.float64],
    lines: npt.NDArray[Any],
) -> RoadGraph:
    """The graph of a region's edges (arrays aligned by edge; a negative cost closes that
    direction) with their WGS84 LineStrings, ordered by edge id."""
    vertex_ids = np.unique(np.concatenate((source, target)))
    n = len(vertex_ids)
    s = np.searchsorted(vertex_ids, source)
    t = np.searchsorted(vertex_ids, target)
    fwd = cost >= 0
    bwd = reverse >= 0
    # Reversed: driving s -> t (cost) becomes the arc t -> s, and t -> s (reverse) becomes s -> t.
    rows = np.concatenate((t[fwd], s[bwd]))
    cols = np.concatenate((s[fwd], t[bwd]))
    weights = np.concatenate((cost[fwd], reverse[bwd]))
    full = min_csr(rows, cols, weights, n)
    # The same components as the forward graph's (reversing every arc keeps them).
    _, labels = connected_components(full, directed=True, connection="strong")
    sizes = np.bincount(labels) if n else np.zeros(1, dtype=np.int64)
    off_main = labels != int(np.argmax(sizes))
    usable = (fwd | bwd) & ~off_main[s] & ~off_main[t]
    snap_lines = lines[usable]
    return RoadGraph(
        region=region,
        stamp=stamp,
        vertex_ids=vertex_ids,
        core=build_core(full, SCRATCH_SLOTS),
        isolated=vertex_ids[off_main],
        snap=SnapIndex(
            ids=ids[usable],
            source=source[usable],
            target=target[usable],
            cost=cost[usable],
            reverse=reverse[usable],
            lines=snap_lines,
            # small nodes: fewer candidate lines to measure per nearest-edge query
            tree=STRtree(snap_lines, node_capacity=4),
        ),
        edges=len(ids),
    )
