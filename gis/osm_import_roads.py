"""Building the routable road graph from drivable OSM ways (pure, no I/O).

Ways are split at every node they share with another drivable way (and at their ends); each piece
becomes an edge between two vertices. Costs are travel times in seconds from ``maxspeed`` when
tagged, else from a typical speed of the road class. One-way rules: ``oneway=yes|true|1``,
``oneway=-1|reverse``, roundabouts and motorways (implied one-way unless ``oneway=no``). A direction
that may not be driven gets the cost ``-1`` (pgRouting's convention for "no edge").

The shared nodes are found with numpy over all node ids at once (no counter object per node),
and vertices and edge coordinates are kept as arrays: a city has millions of road nodes.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gis.osm_import_parse import RoadWay

SPEED_KMH: dict[str, float] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 60.0,
    "primary_link": 45.0,
    "secondary": 50.0,
    "secondary_link": 40.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "road": 30.0,
    "service": 15.0,
    "pedestrian": 10.0,
    "track": 15.0,
}
"""Typical speeds by road class; emergency vehicles use pedestrian zones and tracks slowly."""

IMPLIED_ONEWAY = frozenset({"motorway", "motorway_link"})

_EARTH_RADIUS_M = 6_371_008.8
_MPH = 1.609344
_ZONE_SPEEDS = {
    "urban": 50.0,
    "rural": 80.0,
    "motorway": 120.0,
    "trunk": 100.0,
    "living_street": 7.0,
}


def segment_lengths_m(coords: np.ndarray[Any, np.dtype[np.float64]]) -> np.ndarray[Any, Any]:
    """Great-circle distance in metres between each pair of consecutive (lon, lat) rows
    (spherical Earth; good to 0.5% for edge lengths)."""
    lon = np.radians(coords[:, 0])
    lat = np.radians(coords[:, 1])
    dp = lat[1:] - lat[:-1]
    dl = lon[1:] - lon[:-1]
    h = np.sin(dp / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(dl / 2) ** 2
    out: np.ndarray[Any, Any] = 2 * _EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return out


def parse_maxspeed(value: str | None) -> float | None:
    """``maxspeed`` in km/h (``50``, ``30 mph``, ``DE:urban``, ``walk``); None if unknown."""
    if not value:
        return None
    text = value.strip().lower()
    if text in ("walk", "walking"):
        return 7.0
    if text == "none":
        return 130.0
    if ":" in text:
        zone = text.split(":", 1)[1]
        return _ZONE_SPEEDS.get(zone)
    match = re.match(r"^(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?$", text)
    if not match:
        return None
    speed = float(match.group(1))
    if match.group(2) == "mph":
        speed *= _MPH
    return speed if 0 < speed <= 300 else None


def oneway_direction(tags: dict[str, str]) -> int:
    """1: only forward, -1: only backward, 0: both ways."""
    value = (tags.get("oneway") or "").strip().lower()
    if value in ("yes", "true", "1"):
        return 1
    if value in ("-1", "reverse"):
        return -1
    if value in ("no", "false", "0", "reversible", "alternating"):
        return 0
    if tags.get("junction") in ("roundabout", "circular"):
        return 1
    if tags.get("highway") in IMPLIED_ONEWAY:
        return 1
    return 0


@dataclass(slots=True)
class Edge:
    osm_way_id: int
    source: int  # local vertex index
    target: int
    cost_s: float
    reverse_cost_s: float
    length_m: float
    highway: str
    name: str | None
    maxspeed_kmh: float | None
    coords: np.ndarray[Any, np.dtype[np.float64]]  # (n, 2): lon, lat


@dataclass
class RoadGraph:
    """Vertices (OSM node id and position, by local index) and the edges between them."""

    vertex_nodes: array[int]
    vertex_coords: array[float]  # lon, lat of vertex i at 2i, 2i + 1
    edges: list[Edge]

    def vertex_lon_lat(self, i: int) -> tuple[float, float]:
        return self.vertex_coords[2 * i], self.vertex_coords[2 * i + 1]


def build_graph(ways: Sequence[RoadWay]) -> RoadGraph:
    """Split the drivable ways at shared nodes into a graph with travel-time costs."""
    refs_of = [np.asarray(w.refs, dtype=np.int64) for w in ways]
    coords_of = [np.asarray(w.coords, dtype=np.float64).reshape(-1, 2) for w in ways]
    # a node is a vertex where it is used twice (two ways, or twice by one), an end counting twice
    ends = np.array([r[i] for r in refs_of for i in (0, -1)], dtype=np.int64)
    nodes, usage = np.unique(np.concatenate([*refs_of, ends]), return_counts=True)
    local = np.full(len(nodes), -1, dtype=np.int64)
    vertex_nodes = array("q")
    vertex_coords = array("d")

    def vertex(at: int, ref: int, coord: np.ndarray[Any, np.dtype[np.float64]]) -> int:
        found = int(local[at])
        if found < 0:
            found = local[at] = len(vertex_nodes)
            vertex_nodes.append(ref)
            vertex_coords.extend(coord.tolist())
        return found

    edges: list[Edge] = []
    for way, refs, coords in zip(ways, refs_of, coords_of, strict=True):
        tags = way.tags
        highway = tags["highway"]
        maxspeed = parse_maxspeed(tags.get("maxspeed"))
        speed = maxspeed if maxspeed is not None else SPEED_KMH[highway]
        metres_per_s = speed / 3.6
        direction = oneway_direction(tags)
        name = tags.get("name")
        at = np.searchsorted(nodes, refs)
        splits = np.flatnonzero(usage[at[1:]] >= 2) + 1
        if len(splits) == 0 or splits[-1] != len(refs) - 1:
            splits = np.append(splits, len(refs) - 1)
        seg = segment_lengths_m(coords)
        start = 0
        for i in splits.tolist():
            length = float(seg[start:i].sum())
            if length > 0.0:
                cost = length / metres_per_s
                edges.append(
                    Edge(
                        osm_way_id=way.osm_id,
                        source=vertex(int(at[start]), int(refs[start]), coords[start]),
                        target=vertex(int(at[i]), int(refs[i]), coords[i]),
                        cost_s=cost if direction >= 0 else -1.0,
                        reverse_cost_s=cost if direction <= 0 else -1.0,
                        length_m=length,
                        highway=highway,
                        name=name,
                        maxspeed_kmh=maxspeed,
                        coords=coords[start : i + 1],
                    )
                )
            start = i
    return RoadGraph(vertex_nodes, vertex_coords, edges)
