"""Reading an OSM extract (.osm.pbf) into plain in-memory records, with pyosmium.

No database here: :func:`read_extract` returns a :class:`ParsedExtract` holding the named streets,
address points, places and landmarks, administrative areas, drivable ways and basemap features.
A file that cannot be read (missing, truncated, not a PBF) raises :class:`gis.errors.ImportFailed`.

What a city's extract holds most of is kept compact: the basemap features go to a file as they
are read (:mod:`gis.osm_import_spool`), the address points are columns (one string object per
distinct spelling), and a drivable way keeps its node ids and coordinates as arrays and only the
tags the road graph reads. Node locations stay in osmium's own index (16 bytes a node).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import osmium
import shapely
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from gis.errors import ImportFailed
from gis.osm_import_spool import FeatureSpool

ProgressFn = Callable[[str, int, int | None], None]
"""``progress(stage, done, total)``; ``total`` is None when unknown."""

NAME_KEYS = ("alt_name", "old_name", "official_name", "short_name", "loc_name", "int_name")
"""Other tags whose values are names of the same thing (besides ``name:<lang>``)."""

NOT_STREETS = frozenset(
    {
        "bus_stop",
        "platform",
        "elevator",
        "proposed",
        "construction",
        "razed",
        "abandoned",
        "rest_area",
        "services",
        "street_lamp",
        "traffic_signals",
        "crossing",
        "emergency_access_point",
    }
)

POI_KEYS = (
    "emergency",
    "amenity",
    "healthcare",
    "shop",
    "tourism",
    "office",
    "historic",
    "leisure",
    "craft",
    "railway",
    "public_transport",
    "aeroway",
    "man_made",
    "building",
    "natural",
    "place",
)
"""Tags that make a named object a landmark, most telling first (the first gives its kind)."""

POI_SKIP = frozenset({"railway=rail", "railway=tram", "natural=tree", "building=yes"})

LANDUSE_NATURAL = frozenset(
    {"wood", "scrub", "grassland", "heath", "wetland", "bare_rock", "scree", "glacier", "beach"}
)
RAIL = frozenset({"rail", "light_rail", "tram", "subway", "narrow_gauge", "funicular", "monorail"})
WATERWAY_LINES = frozenset({"river", "stream", "canal", "ditch", "drain", "brook"})


@dataclass(slots=True)
class AdminArea:
    osm_id: int
    level: int
    name: str
    names: dict[str, str]
    geom: BaseGeometry


@dataclass(slots=True)
class StreetWay:
    osm_id: int
    name: str
    names: dict[str, str]
    highway: str
    line: LineString


@dataclass(slots=True)
class AddressPoint:
    osm_type: str
    osm_id: int
    street: str | None
    place: str | None
    housenumber: str
    postcode: str | None
    city: str | None
    lon: float
    lat: float


@dataclass(slots=True)
class PlacePoint:
    osm_type: str
    osm_id: int
    name: str
    names: dict[str, str]
    kind: str
    street: str | None
    housenumber: str | None
    lon: float
    lat: float


ROAD_TAGS = ("highway", "maxspeed", "oneway", "junction", "name")
"""The tags of a drivable way that the road graph reads (the others are not kept)."""


@dataclass(slots=True)
class RoadWay:
    """A drivable way: node ids and their (lon, lat), as arrays when read from a file."""

    osm_id: int
    tags: dict[str, str]
    refs: Sequence[int] | np.ndarray[Any, np.dtype[np.int64]]
    coords: Sequence[tuple[float, float]] | np.ndarray[Any, np.dtype[np.float64]]


class AddressPoints:
    """Address points as parallel columns (an :class:`AddressPoint` is made when one is read).

    The strings are shared: a street's name, a postcode or a house number is one object however
    many points repeat it.
    """

    def __init__(self) -> None:
        self.osm_type: list[str] = []
        self.osm_id = array("q")
        self.street: list[str | None] = []
        self.place: list[str | None] = []
        self.housenumber: list[str] = []
        self.postcode: list[str | None] = []
        self.city: list[str | None] = []
        self.lon = array("d")
        self.lat = array("d")

    def __len__(self) -> int:
        return len(self.osm_id)

    def __getitem__(self, i: int) -> AddressPoint:
        return AddressPoint(
            self.osm_type[i],
            self.osm_id[i],
            self.street[i],
            self.place[i],
            self.housenumber[i],
            self.postcode[i],
            self.city[i],
            self.lon[i],
            self.lat[i],
        )

    def __iter__(self) -> Iterator[AddressPoint]:
        return (self[i] for i in range(len(self)))

    def append(self, a: AddressPoint) -> None:
        self.osm_type.append(a.osm_type)
        self.osm_id.append(a.osm_id)
        self.street.append(a.street)
        self.place.append(a.place)
        self.housenumber.append(a.housenumber)
        self.postcode.append(a.postcode)
        self.city.append(a.city)
        self.lon.append(a.lon)
        self.lat.append(a.lat)

    def coordinates(self) -> tuple[np.ndarray[Any, np.dtype[np.float64]], ...]:
        """Longitudes and latitudes as numpy arrays (views of the columns)."""
        return (
            np.frombuffer(self.lon, dtype=np.float64),
            np.frombuffer(self.lat, dtype=np.float64),
        )


@dataclass
class ParsedExtract:
    """Everything read from one extract, before it is written; :meth:`close` it after."""

    admin: list[AdminArea] = field(default_factory=list)
    streets: list[StreetWay] = field(default_factory=list)
    addresses: AddressPoints = field(default_factory=AddressPoints)
    places: list[PlacePoint] = field(default_factory=list)
    roads: list[RoadWay] = field(default_factory=list)
    features: FeatureSpool = field(default_factory=FeatureSpool)
    nodes_seen: int = 0
    ways_seen: int = 0
    relations_seen: int = 0
    bounds: tuple[float, float, float, float] | None = None  # min lon, min lat, max lon, max lat

    def close(self) -> None:
        """Delete the spooled features."""
        self.features.close()


def other_names(tags: dict[str, str]) -> dict[str, str]:
    """``name:<lang>`` translations and alternative names, keyed by their tag."""
    out: dict[str, str] = {}
    for k, v in tags.items():
        if (k.startswith("name:") or k in NAME_KEYS) and v.strip():
            out[k] = v.strip()
    return out


def poi_kind(tags: dict[str, str]) -> str | None:
    """``key=value`` of the most telling landmark tag, None when the object is no landmark."""
    for k in POI_KEYS:
        v = tags.get(k)
        if v and v != "no":
            kind = f"{k}={v}"
            if kind in POI_SKIP:
                continue
            return kind
    return None


UNNAMED_KINDS: dict[str, str] = {
    "amenity=fire_station": "fire station",
    "amenity=police": "police",
    "amenity=hospital": "hospital",
    "emergency=ambulance_station": "ambulance station",
    "amenity=ambulance_station": "ambulance station",
}
"""Emergency services kept even without a name (their label is the kind, or the operator)."""


def _unnamed_kind(tags: dict[str, str]) -> str | None:
    for k in ("amenity", "emergency"):
        label = UNNAMED_KINDS.get(f"{k}={tags.get(k)}")
        if label is not None:
            return label
    return None


def _is_drivable(highway: str, tags: dict[str, str]) -> bool:
    from gis.osm_import_roads import SPEED_KMH

    if highway not in SPEED_KMH:
        return False
    return tags.get("area") != "yes"


def _label_point(geom: BaseGeometry) -> tuple[float, float]:
    """A representative point of a polygon or line: its centroid (inside when it can be)."""
    c = geom.centroid
    if c.is_empty:
        c = geom.representative_point()
    return float(c.x), float(c.y)


class _Reader:
    def __init__(self, progress: ProgressFn | None) -> None:
        self.out = ParsedExtract()
        self.progress = progress
        self._strings: dict[str, str] = {}
        self.wkb = osmium.geom.WKBFactory()
        self.minlon = math.inf
        self.minlat = math.inf
        self.maxlon = -math.inf
        self.maxlat = -math.inf

    def _one(self, text: str | None) -> str | None:
        """The one shared object of this spelling (a city repeats names a million times)."""
        return None if text is None else self._strings.setdefault(text, text)

    def _tick(self) -> None:
        total = self.out.nodes_seen + self.out.ways_seen + self.out.relations_seen
        if self.progress is not None and total % 50_000 == 0:
            self.progress("reading", total, None)

    def _extend(self, lon: float, lat: float) -> None:
        if lon < self.minlon:
            self.minlon = lon
        if lon > self.maxlon:
            self.maxlon = lon
        if lat < self.minlat:
            self.minlat = lat
        if lat > self.maxlat:
            self.maxlat = lat

    def node(self, n: osmium.osm.Node) -> None:
        """A tagged node (untagged ones are filtered out before they reach Python)."""
        self.out.nodes_seen += 1
        self._tick()
        loc = n.location
        if not loc.valid():
            return
        lon, lat = loc.lon, loc.lat
        self._extend(lon, lat)
        tags = dict(n.tags)
        self._point_object("N", n.id, tags, lon, lat)

    def _point_object(
        self, osm_type: str, osm_id: int, tags: dict[str, str], lon: float, lat: float
    ) -> None:
        hn = tags.get("addr:housenumber", "").strip()
        if hn and (tags.get("addr:street") or tags.get("addr:place")):
            self.out.addresses.append(
                AddressPoint(
                    osm_type=osm_type,
                    osm_id=osm_id,
                    street=self._one((tags.get("addr:street") or "").strip() or None),
                    place=self._one((tags.get("addr:place") or "").strip() or None),
                    housenumber=self._one(hn) or "",
                    postcode=self._one((tags.get("addr:postcode") or "").strip() or None),
                    city=self._one((tags.get("addr:city") or "").strip() or None),
                    lon=lon,
                    lat=lat,
                )
            )
        name = (tags.get("name") or "").strip()
        if not name and _unnamed_kind(tags) is not None:
            name = (tags.get("operator") or "").strip() or str(_unnamed_kind(tags))
        if name:
            kind = poi_kind(tags)
            if kind is not None:
                self.out.places.append(
                    PlacePoint(
                        osm_type=osm_type,
                        osm_id=osm_id,
                        name=name,
                        names=other_names(tags),
                        kind=self._one(kind) or kind,
                        street=self._one(tags.get("addr:street")),
                        housenumber=self._one(hn or None),
                        lon=lon,
                        lat=lat,
                    )
                )

    def way(self, w: osmium.osm.Way) -> None:
        self.out.ways_seen += 1
        self._tick()
        tags = dict(w.tags)
        highway = tags.get("highway")
        railway = tags.get("railway")
        waterway = tags.get("waterway")
        name = (tags.get("name") or "").strip()
        as_point = "addr:housenumber" in tags or _unnamed_kind(tags) is not None
        as_point = as_point or (bool(name) and poi_kind(tags) is not None)
        if not (highway or railway in RAIL or waterway in WATERWAY_LINES or as_point):
            return
        refs: list[int] = []
        coords: list[tuple[float, float]] = []
        for nd in w.nodes:
            loc = nd.location
            if loc.valid():
                refs.append(nd.ref)
                coords.append((loc.lon, loc.lat))
        if len(coords) < 2:
            return
        self._extend(*coords[0])
        closed = len(refs) >= 4 and refs[0] == refs[-1]
        line: LineString | None = None
        features = self.out.features
        if highway:
            highway = self._one(highway) or highway
            line = LineString(coords)
            if name and highway not in NOT_STREETS:
                self.out.streets.append(StreetWay(w.id, name, other_names(tags), highway, line))
            if _is_drivable(highway, tags):
                road_tags = {k: self._one(tags[k]) or "" for k in ROAD_TAGS if k in tags}
                self.out.roads.append(
                    RoadWay(w.id, road_tags, np.array(refs, dtype=np.int64), np.array(coords))
                )
            if highway not in NOT_STREETS and not closed:
                features.add("road", highway, name or None, shapely.to_wkb(line, hex=True))
        if railway in RAIL:
            line = line or LineString(coords)
            features.add("rail", railway, name or None, shapely.to_wkb(line, hex=True))
        if waterway in WATERWAY_LINES and not closed:
            line = line or LineString(coords)
            features.add("water", waterway, name or None, shapely.to_wkb(line, hex=True))
        if as_point:
            line = line or LineString(coords)
            geom: BaseGeometry = Polygon(coords) if closed else line
            if closed and not geom.is_valid:
                geom = line
            lon, lat = _label_point(geom)
            self._point_object("W", w.id, tags, lon, lat)

    def relation(self, r: osmium.osm.Relation) -> None:
        self.out.relations_seen += 1
        self._tick()

    def area(self, a: osmium.osm.Area) -> None:
        tags = dict(a.tags)
        if not tags:
            return
        layer_kind = _area_layer(tags)
        from_way = a.from_way()
        if from_way and layer_kind is None:
            return
        try:
            wkb = self.wkb.create_multipolygon(a)  # hexadecimal
        except RuntimeError:
            return  # an unclosed ring: osmium could not build it
        name = (tags.get("name") or "").strip() or None
        if layer_kind is not None:
            self.out.features.add(layer_kind[0], layer_kind[1], name, wkb)
        if not from_way:
            geom = shapely.from_wkb(wkb)
            if geom is None or geom.is_empty:
                return
            rel_id = a.orig_id()
            if tags.get("boundary") == "administrative" and name:
                level = _int(tags.get("admin_level"))
                if level is not None:
                    self.out.admin.append(AdminArea(rel_id, level, name, other_names(tags), geom))
                    self.out.features.add("boundary", f"admin_{level}", name, wkb)
            if (
                "addr:housenumber" in tags
                or (name and poi_kind(tags) is not None)
                or _unnamed_kind(tags) is not None
            ):
                lon, lat = _label_point(geom)
                self._point_object("R", rel_id, tags, lon, lat)


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def _area_layer(tags: dict[str, str]) -> tuple[str, str] | None:
    if tags.get("natural") == "water" or "water" in tags:
        return "water", tags.get("water", "water")
    if tags.get("waterway") in ("riverbank", "dock") or tags.get("landuse") in (
        "reservoir",
        "basin",
    ):
        return "water", tags.get("waterway") or tags.get("landuse", "water")
    if "building" in tags and tags["building"] != "no":
        return "building", tags["building"]
    if "landuse" in tags:
        return "landuse", tags["landuse"]
    if tags.get("leisure") in ("park", "garden", "pitch", "playground", "golf_course", "stadium"):
        return "landuse", tags["leisure"]
    if tags.get("natural") in LANDUSE_NATURAL:
        return "landuse", tags["natural"]
    return None


def read_extract(path: Path, progress: ProgressFn | None = None) -> ParsedExtract:
    """Read every object of interest from an .osm.pbf (or .osm/.osm.bz2) file."""
    if not path.exists():
        raise ImportFailed(
            f"OSM file {path} does not exist", code="import.file_missing", file=str(path)
        )
    if not path.is_file():
        raise ImportFailed(
            f"OSM file {path} is not a regular file", code="import.not_a_file", file=str(path)
        )
    reader = _Reader(progress)
    try:
        _read_into(reader, path)
    except BaseException:
        reader.out.close()
        raise
    out = reader.out
    if math.isfinite(reader.minlon):
        out.bounds = (reader.minlon, reader.minlat, reader.maxlon, reader.maxlat)
    if progress is not None:
        progress("reading", out.nodes_seen + out.ways_seen + out.relations_seen, None)
    return out


def _read_into(reader: _Reader, path: Path) -> None:
    try:
        processor = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_areas()
            .with_filter(osmium.filter.EmptyTagFilter())
        )
        for obj in processor:
            if isinstance(obj, osmium.osm.Node):
                reader.node(obj)
            elif isinstance(obj, osmium.osm.Way):
                reader.way(obj)
            elif isinstance(obj, osmium.osm.Relation):
                reader.relation(obj)
            elif isinstance(obj, osmium.osm.Area):
                reader.area(obj)
    except RuntimeError as exc:
        raise ImportFailed(
            f"cannot read OSM file {path.name}: {exc} (is the file complete and an OSM extract?)",
            code="import.file_unreadable",
            file=path.name,
            reason=str(exc),
        ) from exc
    out = reader.out
    if out.nodes_seen + out.ways_seen == 0:
        raise ImportFailed(
            f"OSM file {path.name} contains no tagged objects: nothing to import",
            code="import.no_tagged_objects",
            file=path.name,
        )
