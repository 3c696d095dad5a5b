"""Where points off the road graph join it: snapping and virtual edges (pure, no I/O).

A unit's GPS fix or an incident's address lies beside the roads. Each point is snapped to the
nearest edge of the region's main road network (road pieces cut off from it are never used).
The destination is also joined to the next nearest edges within :data:`SNAP_TOLERANCE_M`, so
an address between two streets is reached from either. A snapped point is connected to both
ends of its edge with the cost of driving the part of the edge between the snapped spot and
that end (one-way rules kept: a negative cost closes that direction), plus the straight
distance from the point to the road at :data:`OFFROAD_SPEED_MPS`. A unit on the incident's own
edge also gets the direct stretch. These joins are the *virtual edges*; the in-memory search
(:mod:`gis.roadgraph`) and the pgRouting statements (:mod:`gis.routing_sql`) use the same rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

OFFROAD_SPEED_MPS = 15.0 / 3.6
"""Speed assumed from a point to the road it is snapped to (walking a vehicle in: 15 km/h)."""

SNAP_CANDIDATES = 1
"""How many nearest edges a unit position (a GPS fix, on a road) is joined to."""

DEST_SNAP_CANDIDATES = 4
"""How many nearest edges the destination is joined to (those within :data:`SNAP_TOLERANCE_M`
of the nearest): an address between two streets is reached from whichever is faster."""

SNAP_TOLERANCE_M = 40.0
"""Edges no more than this much farther than the nearest one are joined too."""

MAX_SNAP_M = 5000.0
"""A point farther than this from any road is not routed (it is not in the region)."""

VIRTUAL_BASE = 9_000_000_000_000_000_000
"""Ids of virtual vertices and edges start here, far above any imported id: the destination
is vertex ``VIRTUAL_BASE``, origin ``i`` (from 1) is ``VIRTUAL_BASE + i``."""

EARTH_RADIUS_M = 6371008.7714
"""Mean earth radius, as PostGIS' ST_DistanceSphere uses for WGS84."""


@dataclass(frozen=True, slots=True)
class SnapIndex:
    """The main-network edges a point may snap to, with a spatial index over them."""

    ids: npt.NDArray[np.int64]
    source: npt.NDArray[np.int64]
    target: npt.NDArray[np.int64]
    cost: npt.NDArray[np.float64]
    reverse: npt.NDArray[np.float64]
    lines: npt.NDArray[Any]
    """shapely LineStrings, WGS84."""
    tree: Any
    """shapely STRtree over :attr:`lines`."""


@dataclass(frozen=True, slots=True)
class Snap:
    """Where one point joins one edge."""

    point: int
    """0 for the destination, 1.. for the origins."""
    edge: int
    """Index into the :class:`SnapIndex` arrays."""
    f: float
    """Fraction along the edge from its source, 0..1."""
    off_m: float
    """Straight metres from the point to the snapped spot."""


def sphere_m(
    lon1: npt.NDArray[np.float64],
    lat1: npt.NDArray[np.float64],
    lon2: npt.NDArray[np.float64],
    lat2: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Great-circle metres (haversine), element-wise."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    result: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
    return result


def _nearest_edges(index: SnapIndex, lon: float, lat: float, k: int) -> list[int]:
    """The ``k`` nearest edges within reach of the nearest one (planar distance in degrees,
    ties by edge id), found through the spatial index."""
    point = shapely.points(lon, lat)
    _, distance = index.tree.query_nearest(point, return_distance=True)
    if len(distance) == 0:
        return []
    # Everything the metric tolerance could still admit, with room to spare.
    reach = float(distance[0]) + SNAP_TOLERANCE_M * 2 / (
        111320.0 * max(math.cos(math.radians(lat)), 0.01)
    )
    found = index.tree.query(point, predicate="dwithin", distance=reach)
    distances = shapely.distance(index.lines[found], point)
    order = np.lexsort((index.ids[found], distances))
    return [int(found[n]) for n in order[:k]]


def snaps(
    index: SnapIndex, lons: Sequence[float], lats: Sequence[float], dest: tuple[float, float]
) -> list[Snap]:
    """Where the destination (point 0) and the origins (1..) join the graph."""
    if len(index.ids) == 0:
        return []
    chosen: list[tuple[int, int]] = [
        (0, e) for e in _nearest_edges(index, dest[0], dest[1], DEST_SNAP_CANDIDATES)
    ]
    if lons:
        points = shapely.points(np.asarray(lons), np.asarray(lats))
        pairs = index.tree.query_nearest(points, all_matches=True)
        best: dict[int, int] = {}
        for p, e in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
            if p not in best or index.ids[e] < index.ids[best[p]]:
                best[p] = e
        chosen.extend((p + 1, best[p]) for p in sorted(best))
    which = np.array([c[0] for c in chosen])
    edges = np.array([c[1] for c in chosen])
    all_lons = np.concatenate(([dest[0]], np.asarray(lons, dtype=np.float64)))
    all_lats = np.concatenate(([dest[1]], np.asarray(lats, dtype=np.float64)))
    pts = shapely.points(all_lons[which], all_lats[which])
    lines = index.lines[edges]
    fractions = shapely.line_locate_point(lines, pts, normalized=True)
    spots = shapely.line_interpolate_point(lines, fractions, normalized=True)
    off = sphere_m(all_lons[which], all_lats[which], shapely.get_x(spots), shapely.get_y(spots))
    nearest: dict[int, float] = {}
    for p, d in zip(which.tolist(), off.tolist(), strict=True):
        nearest[p] = min(d, nearest.get(p, math.inf))
    return [
        Snap(point=p, edge=e, f=float(f), off_m=float(d))
        for p, e, f, d in zip(which.tolist(), edges.tolist(), fractions, off.tolist(), strict=True)
        if d <= nearest[p] + SNAP_TOLERANCE_M and d <= MAX_SNAP_M
    ]


def virtual_edges(index: SnapIndex, found: Sequence[Snap]) -> list[tuple[int, int, float]]:
    """``(source, target, seconds)`` joining the snapped points to the graph, in the direction
    of travel (origins towards the destination), numbered as :data:`VIRTUAL_BASE` says."""
    base = VIRTUAL_BASE
    slow = OFFROAD_SPEED_MPS
    out: list[tuple[int, int, float]] = []
    dest = [s for s in found if s.point == 0]
    for s in found:
        cost = float(index.cost[s.edge])
        reverse = float(index.reverse[s.edge])
        src, tgt = int(index.source[s.edge]), int(index.target[s.edge])
        if s.point == 0:
            if cost >= 0:
                out.append((src, base, s.off_m / slow + s.f * cost))
            if reverse >= 0:
                out.append((tgt, base, s.off_m / slow + (1 - s.f) * reverse))
            continue
        if cost >= 0:
            out.append((base + s.point, tgt, s.off_m / slow + (1 - s.f) * cost))
        if reverse >= 0:
            out.append((base + s.point, src, s.off_m / slow + s.f * reverse))
        for d in dest:
            if d.edge == s.edge:
                along = cost if d.f >= s.f else reverse
                if along >= 0:
                    seconds = s.off_m / slow + d.off_m / slow + abs(d.f - s.f) * along
                    out.append((base + s.point, base, seconds))
    return out
