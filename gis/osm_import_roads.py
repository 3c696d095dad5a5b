"""Building the routable road graph from drivable OSM ways (pure, no I/O).

Ways are split at every node they share with another drivable way (and at their ends); each piece
becomes an edge between two vertices. Costs are travel times in seconds from ``maxspeed`` when
tagged, else from a typical speed of the road class. One-way rules: ``oneway=yes|true|1``,
``oneway=-1|reverse``, roundabouts and motorways (implied one-way unless ``oneway=no``). A direction
that may not be driven gets the cost ``-1`` (pgRouting's convention for "no edge").
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

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


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (spherical Earth; good to 0.5% for edge lengths)."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


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
    coords: list[tuple[float, float]]


@dataclass
class RoadGraph:
    """Vertices (OSM node id and position, by local index) and the edges between them."""

    vertex_nodes: list[int]
    vertex_coords: list[tuple[float, float]]
    edges: list[Edge]


def build_graph(ways: Sequence[RoadWay]) -> RoadGraph:
    """Split the drivable ways at shared nodes into a graph with travel-time costs."""
    usage: Counter[int] = Counter()
    for way in ways:
        usage.update(way.refs)
        usage[way.refs[0]] += 1
        usage[way.refs[-1]] += 1
    index: dict[int, int] = {}
    vertex_nodes: list[int] = []
    vertex_coords: list[tuple[float, float]] = []

    def vertex(ref: int, coord: tuple[float, float]) -> int:
        found = index.get(ref)
        if found is None:
            found = len(vertex_nodes)
            index[ref] = found
            vertex_nodes.append(ref)
            vertex_coords.append(coord)
        return found

    edges: list[Edge] = []
    for way in ways:
        tags = way.tags
        highway = tags["highway"]
        maxspeed = parse_maxspeed(tags.get("maxspeed"))
        speed = maxspeed if maxspeed is not None else SPEED_KMH[highway]
        metres_per_s = speed / 3.6
        direction = oneway_direction(tags)
        name = tags.get("name")
        start = 0
        for i in range(1, len(way.refs)):
            if usage[way.refs[i]] < 2 and i != len(way.refs) - 1:
                continue
            coords = way.coords[start : i + 1]
            length = sum(haversine_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(coords))
            if length > 0.0:
                cost = length / metres_per_s
                edges.append(
                    Edge(
                        osm_way_id=way.osm_id,
                        source=vertex(way.refs[start], way.coords[start]),
                        target=vertex(way.refs[i], way.coords[i]),
                        cost_s=cost if direction >= 0 else -1.0,
                        reverse_cost_s=cost if direction <= 0 else -1.0,
                        length_m=length,
                        highway=highway,
                        name=name,
                        maxspeed_kmh=maxspeed,
                        coords=coords,
                    )
                )
            start = i
    return RoadGraph(vertex_nodes, vertex_coords, edges)
