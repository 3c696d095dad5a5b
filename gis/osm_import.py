"""Importing an OSM extract into PostGIS: one region, replaced in one transaction.

:func:`import_osm` reads the whole file first (in a worker thread, see
:mod:`gis.osm_import_parse`), shapes the rows (jurisdictions, merged streets, address points,
places, the road graph) and only then opens one transaction that deletes the region's old rows
and writes the new ones with COPY. A file that cannot be read, or any failure while writing,
leaves the previous data of the region exactly as it was and raises
:class:`gis.errors.ImportFailed` saying why.

Memory: the basemap features wait on disk (:mod:`gis.osm_import_spool`), the address points as
columns; the rows of the big tables are made while COPY sends them, a chunk at a time, never
as whole lists. Each COPY reports its progress.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gis.coords import metric_crs_for
from gis.errors import GisError, ImportFailed
from gis.normalize import name_key
from gis.osm_import_parse import AdminArea, ParsedExtract, ProgressFn, read_extract
from gis.osm_import_roads import RoadGraph, build_graph
from gis.osm_import_spool import COLUMNS as FEATURE_COLUMNS
from gis.osm_import_spool import FeatureSpool
from gis.tables import metadata

REGION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
IMPORT_LOCK = 0x6769735F696D70  # advisory lock key held while a region is replaced

CHUNK_ROWS = 50_000
"""Rows made at a time for COPY (geometries encoded per chunk), and how often progress ticks."""

NO_AREA = -1
"""A point's jurisdiction index when it lies in no jurisdiction."""

NO_STREET = -1
"""An address's street row when no street row has its street's name."""


class RegionListener(Protocol):
    """Something to tell, in this process, that a region was replaced (a cache).

    Caches in other processes notice the new import stamp (``gis_regions.generation``) when
    they next check it.
    """

    def region_imported(self, region: str) -> None: ...


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote."""

    region: str
    srid_metric: int
    jurisdictions: int
    jurisdiction_level: int | None
    streets: int
    addresses: int
    places: int
    road_vertices: int
    road_edges: int
    features: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Rows:
    """What is written: the small tables as rows, the big ones as the parse and their areas."""

    jurisdictions: list[tuple[Any, ...]]
    jurisdiction_level: int | None
    streets: list[tuple[Any, ...]]
    parsed: ParsedExtract
    address_areas: np.ndarray[Any, np.dtype[np.int64]]
    address_keys: list[str | None]
    address_streets: np.ndarray[Any, np.dtype[np.int64]]
    place_areas: np.ndarray[Any, np.dtype[np.int64]]
    graph: RoadGraph
    bbox: tuple[float, float, float, float]
    srid_metric: int

    @property
    def features(self) -> FeatureSpool:
        return self.parsed.features


def check_region_name(region: str) -> str:
    """The region name, or :class:`ImportFailed` when it is not a short plain identifier."""
    if not isinstance(region, str) or not REGION_NAME.match(region):
        raise ImportFailed(
            f"region name {region!r} is not valid: use 1-63 letters, digits, '.', '_' or '-'",
            code="import.region_name_invalid",
            region=str(region),
            min=1,
            max=63,
        )
    return region


def _multi(geom: BaseGeometry) -> MultiPolygon | None:
    """The polygonal part of an area as a valid MultiPolygon (None when nothing is left)."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if isinstance(geom, MultiPolygon):
        return geom
    if geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    parts = [g for g in getattr(geom, "geoms", ()) if g.geom_type in ("Polygon", "MultiPolygon")]
    polygons = [p for g in parts for p in getattr(g, "geoms", [g])]
    return MultiPolygon(polygons) if polygons else None


def _valid_admin(admin: Sequence[AdminArea]) -> list[AdminArea]:
    """Administrative areas with usable polygons (repaired when they cross themselves)."""
    out: list[AdminArea] = []
    for area in admin:
        geom = _multi(area.geom)
        if geom is not None and not geom.is_empty:
            out.append(AdminArea(area.osm_id, area.level, area.name, area.names, geom))
    return out


def choose_jurisdiction_level(
    admin: Sequence[AdminArea], points: Sequence[Point] | np.ndarray[Any, Any]
) -> int | None:
    """The finest administrative level whose areas cover (nearly) as many points as any level."""
    if not admin:
        return None
    by_level: dict[int, list[BaseGeometry]] = defaultdict(list)
    for area in admin:
        if area.level >= 3:
            by_level[area.level].append(area.geom)
    if not by_level:
        return None
    if len(points) == 0:
        return max(by_level)
    coverage: dict[int, int] = {}
    for level, geoms in by_level.items():
        tree = STRtree(geoms)
        hits = tree.query(points, predicate="within")
        coverage[level] = len(set(hits[0].tolist()))
    best = max(coverage.values())
    if best == 0:
        return None
    fine_enough = [lvl for lvl, n in coverage.items() if n >= 0.9 * best]
    return max(fine_enough)


def _assign(
    tree_geoms: Sequence[BaseGeometry], points: Sequence[Point] | np.ndarray[Any, Any]
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Index of the polygon containing each point (the first found; :data:`NO_AREA` outside
    all)."""
    out = np.full(len(points), NO_AREA, dtype=np.int64)
    if not tree_geoms or len(points) == 0:
        return out
    tree = STRtree(tree_geoms)
    hits = tree.query(points, predicate="within")
    # the first hit of each point, as the hits come (sorted by point)
    first = np.unique(hits[0], return_index=True)[1]
    out[hits[0][first]] = hits[1][first]
    return out


def _assign_lon_lat(
    tree_geoms: Sequence[BaseGeometry],
    lon: np.ndarray[Any, np.dtype[np.float64]],
    lat: np.ndarray[Any, np.dtype[np.float64]],
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """:func:`_assign` of points given as coordinates, a chunk of GEOS points at a time."""
    parts = [
        _assign(tree_geoms, shapely.points(lon[i : i + CHUNK_ROWS], lat[i : i + CHUNK_ROWS]))
        for i in range(0, len(lon), CHUNK_ROWS)
    ]
    return np.concatenate(parts) if parts else np.full(0, NO_AREA, dtype=np.int64)


def _shape_rows(parsed: ParsedExtract, progress: ProgressFn | None = None) -> _Rows:
    """Jurisdictions and merged streets as rows; each point's jurisdiction; the road graph."""
    addr_lon, addr_lat = parsed.addresses.coordinates()
    street_points = [s.line.interpolate(0.5, normalized=True) for s in parsed.streets]
    place_lon = np.array([p.lon for p in parsed.places], dtype=np.float64)
    place_lat = np.array([p.lat for p in parsed.places], dtype=np.float64)
    # the level is chosen on the address points, or on everything named when they are few
    if len(addr_lon) >= 20:
        sample: np.ndarray[Any, Any] = shapely.points(addr_lon, addr_lat)
    else:
        sample = np.concatenate(
            [
                shapely.points(addr_lon, addr_lat),
                np.array(street_points, dtype=object),
                shapely.points(place_lon, place_lat),
            ]
        )
    admin = _valid_admin(parsed.admin)
    level = choose_jurisdiction_level(admin, sample)
    del sample
    areas: list[AdminArea] = []
    if level is not None:
        seen: set[int] = set()
        for a in admin:
            if a.level == level and a.osm_id not in seen:
                seen.add(a.osm_id)
                areas.append(a)
    area_geoms = [a.geom for a in areas]
    jurisdictions = [
        (
            a.name,
            a.level,
            json.dumps(a.names, ensure_ascii=False),
            a.osm_id,
            shapely.to_wkb(_multi(a.geom)),
        )
        for a in areas
    ]
    if progress is not None:
        progress("jurisdictions", len(jurisdictions), len(jurisdictions))

    # Streets: one row per name and jurisdiction, the ways merged.
    street_juris = _assign(area_geoms, street_points)
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, s in enumerate(parsed.streets):
        groups[(s.name, int(street_juris[i]))].append(i)
    streets: list[tuple[Any, ...]] = []
    for (name, juris), members in groups.items():
        lines = [parsed.streets[i].line for i in members]
        merged = shapely.line_merge(MultiLineString(lines))
        if isinstance(merged, LineString):
            merged = MultiLineString([merged])
        elif not isinstance(merged, MultiLineString):
            merged = MultiLineString(lines)
        names: dict[str, str] = {}
        highways: dict[str, int] = defaultdict(int)
        for i in members:
            names.update(parsed.streets[i].names)
            highways[parsed.streets[i].highway] += 1
        main_highway = max(highways, key=lambda h: highways[h])
        streets.append(
            (
                name,
                json.dumps(names, ensure_ascii=False),
                name_key(name),
                None if juris == NO_AREA else juris,
                main_highway,
                shapely.to_wkb(merged),
            )
        )
    if progress is not None:
        progress("merged streets", len(streets), len(streets))

    address_areas = _assign_lon_lat(area_geoms, addr_lon, addr_lat)
    keys: dict[str, str] = {}
    address_keys = [
        None if street is None else keys.get(street) or keys.setdefault(street, name_key(street))
        for street in parsed.addresses.street
    ]
    address_streets = _nearest_streets(streets, address_keys, addr_lon, addr_lat)
    place_areas = _assign_lon_lat(area_geoms, place_lon, place_lat)
    if progress is not None:
        progress("points in jurisdictions", len(address_areas), len(address_areas))
    graph = build_graph(parsed.roads)
    parsed.roads = []  # the graph holds what the routes need
    if progress is not None:
        progress("road graph", len(graph.edges), len(graph.edges))
    if parsed.bounds is None:
        raise ImportFailed(
            "the OSM file has no located nodes: nothing to import", code="import.no_located_nodes"
        )
    minlon, minlat, maxlon, maxlat = parsed.bounds
    srid = metric_crs_for((minlon + maxlon) / 2, (minlat + maxlat) / 2)
    return _Rows(
        jurisdictions,
        level,
        streets,
        parsed,
        address_areas,
        address_keys,
        address_streets,
        place_areas,
        graph,
        parsed.bounds,
        srid,
    )


def _nearest_streets(
    streets: Sequence[tuple[Any, ...]],
    address_keys: Sequence[str | None],
    lon: np.ndarray[Any, np.dtype[np.float64]],
    lat: np.ndarray[Any, np.dtype[np.float64]],
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """For each address, the nearest street row of its street's name (the first row of equally
    near ones; :data:`NO_STREET` when no row has the name), through one spatial index per name:
    a region may hold many streets of one name, far apart."""
    rows_of: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(streets):
        rows_of[row[2]].append(i)
    members_of: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(address_keys):
        if k is not None and k in rows_of:
            members_of[k].append(i)
    out = np.full(len(address_keys), NO_STREET, dtype=np.int64)
    for k, members in members_of.items():
        rows = np.asarray(rows_of[k], dtype=np.int64)
        at = np.asarray(members, dtype=np.int64)
        if len(rows) == 1:
            out[at] = rows[0]
            continue
        tree = STRtree(shapely.from_wkb([streets[r][5] for r in rows]))
        hits = tree.query_nearest(shapely.points(lon[at], lat[at]), all_matches=True)
        first = np.full(len(at), len(rows), dtype=np.int64)
        np.minimum.at(first, hits[0], hits[1])
        out[at] = rows[first]
    return out


def _address_records(
    rows: _Rows, juris_ids: Sequence[int], street_ids: Sequence[int]
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``gis_addresses``, made a chunk at a time."""
    a = rows.parsed.addresses
    lon, lat = a.coordinates()
    for start in range(0, len(a), CHUNK_ROWS):
        end = min(start + CHUNK_ROWS, len(a))
        wkbs = shapely.to_wkb(shapely.points(lon[start:end], lat[start:end]))
        areas = rows.address_areas[start:end].tolist()
        on_street = rows.address_streets[start:end].tolist()
        for k, i in enumerate(range(start, end)):
            area = areas[k]
            yield (
                a.street[i],
                rows.address_keys[i],
                a.place[i],
                a.housenumber[i],
                a.postcode[i],
                a.city[i],
                None if area == NO_AREA else juris_ids[area],
                None if on_street[k] == NO_STREET else street_ids[on_street[k]],
                a.osm_type[i],
                a.osm_id[i],
                wkbs[k],
            )


def _place_records(rows: _Rows, juris_ids: Sequence[int]) -> Iterator[tuple[Any, ...]]:
    places = rows.parsed.places
    for start in range(0, len(places), CHUNK_ROWS):
        chunk = places[start : start + CHUNK_ROWS]
        wkbs = shapely.to_wkb(shapely.points([(p.lon, p.lat) for p in chunk]))
        areas = rows.place_areas[start : start + CHUNK_ROWS].tolist()
        for k, p in enumerate(chunk):
            yield (
                p.name,
                json.dumps(p.names, ensure_ascii=False),
                name_key(p.name),
                p.kind,
                None if areas[k] == NO_AREA else juris_ids[areas[k]],
                p.street,
                p.housenumber,
                p.osm_type,
                p.osm_id,
                wkbs[k],
            )


def _vertex_records(graph: RoadGraph, base: int) -> Iterator[tuple[Any, ...]]:
    coords = np.frombuffer(graph.vertex_coords, dtype=np.float64).reshape(-1, 2)
    for start in range(0, len(graph.vertex_nodes), CHUNK_ROWS):
        wkbs = shapely.to_wkb(shapely.points(coords[start : start + CHUNK_ROWS]))
        for k, node in enumerate(graph.vertex_nodes[start : start + CHUNK_ROWS]):
            yield (base + start + k, node, wkbs[k])


def _edge_records(graph: RoadGraph, base: int) -> Iterator[tuple[Any, ...]]:
    for e in graph.edges:
        yield (
            e.osm_way_id,
            base + e.source,
            base + e.target,
            e.cost_s,
            e.reverse_cost_s,
            e.length_m,
            e.highway,
            e.name,
            e.maxspeed_kmh,
            shapely.to_wkb(LineString(e.coords)),
        )


def _counted(
    records: Iterable[tuple[Any, ...]], stage: str, total: int, progress: ProgressFn | None
) -> Iterator[tuple[Any, ...]]:
    """``records``, telling ``progress`` every :data:`CHUNK_ROWS` rows and at the end."""
    done = 0
    for record in records:
        yield record
        done += 1
        if progress is not None and done % CHUNK_ROWS == 0:
            progress(stage, done, total)
    if progress is not None:
        progress(stage, done, total)


async def _copy(
    conn: AsyncConnection,
    table: str,
    columns: Sequence[str],
    types: Sequence[str],
    records: Iterable[tuple[Any, ...]] | FeatureSpool,
    region: str,
    extra_select: str = "",
    progress: ProgressFn | None = None,
) -> None:
    """COPY rows (last column: WKB geometry) into ``table`` for ``region`` via a temporary table.

    ``records`` are sent as they come (an iterator is never made a list); a spool of features
    is sent as its file, in chunks, ``progress`` told of the bytes sent.
    """
    temp = f"_import_{table}"
    cols = ", ".join(f"{c} {t}" for c, t in zip(columns, types, strict=True))
    await conn.execute(text(f"CREATE TEMP TABLE {temp} ({cols}, wkb bytea) ON COMMIT DROP"))
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    if isinstance(records, FeatureSpool):
        if len(records):
            await driver.copy_to_table(
                temp,
                source=_spool_chunks(records, table, progress),
                columns=[*columns, "wkb"],
                format="text",
            )
    else:
        await driver.copy_records_to_table(temp, records=records, columns=[*columns, "wkb"])
    select_cols = ", ".join(columns)
    await conn.execute(
        text(
            f"INSERT INTO {table} (region, {select_cols}, geom) "  # noqa: S608 - fixed names
            f"SELECT :region, {select_cols}, ST_SetSRID(ST_GeomFromWKB(wkb), 4326) "
            f"FROM {temp} {extra_select}"
        ),
        {"region": region},
    )


async def _spool_chunks(
    spool: FeatureSpool, stage: str, progress: ProgressFn | None
) -> AsyncIterator[bytes]:
    sent = 0
    for chunk in spool.chunks():
        yield chunk
        sent += len(chunk)
        if progress is not None:
            progress(f"{stage} (bytes)", sent, spool.nbytes)


async def _write(
    conn: AsyncConnection, region: str, rows: _Rows, source: str, progress: ProgressFn | None
) -> None:
    def step(name: str, n: int) -> None:
        if progress is not None:
            progress(name, n, n)

    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": IMPORT_LOCK})
    minlon, minlat, maxlon, maxlat = rows.bbox
    parsed = rows.parsed
    stats = {
        "jurisdictions": len(rows.jurisdictions),
        "jurisdiction_level": rows.jurisdiction_level,
        "streets": len(rows.streets),
        "addresses": len(parsed.addresses),
        "places": len(parsed.places),
        "road_vertices": len(rows.graph.vertex_nodes),
        "road_edges": len(rows.graph.edges),
        "features": len(rows.features),
    }
    await conn.execute(
        text(
            "INSERT INTO gis_regions (name, srid_metric, bbox, imported_at, source, stats) "
            "VALUES (:name, :srid, ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326), now(), :source,"
            " CAST(:stats AS jsonb)) "
            "ON CONFLICT (name) DO UPDATE SET srid_metric = EXCLUDED.srid_metric, "
            "bbox = EXCLUDED.bbox, imported_at = EXCLUDED.imported_at, source = EXCLUDED.source,"
            " stats = EXCLUDED.stats, generation = gis_regions.generation + 1"
        ),
        {
            "name": region,
            "srid": rows.srid_metric,
            "x1": minlon,
            "y1": minlat,
            "x2": maxlon,
            "y2": maxlat,
            "source": source,
            "stats": json.dumps(stats),
        },
    )
    for table in (
        "gis_features",
        "gis_road_edges",
        "gis_road_vertices",
        "gis_places",
        "gis_addresses",
        "gis_streets",
        "gis_jurisdictions",
    ):
        await conn.execute(text(f"DELETE FROM {table} WHERE region = :r"), {"r": region})  # noqa: S608
    step("removed old rows", 0)

    # Jurisdictions first: the other rows refer to them by the ids the database gives.
    await _copy(
        conn,
        "gis_jurisdictions",
        ["name", "admin_level", "names", "osm_id"],
        ["text", "int", "jsonb", "bigint"],
        rows.jurisdictions,
        region,
    )
    id_rows = (
        await conn.execute(
            text("SELECT id, osm_id FROM gis_jurisdictions WHERE region = :r"), {"r": region}
        )
    ).all()
    by_osm = {int(r.osm_id): int(r.id) for r in id_rows}
    juris_ids: list[int] = [by_osm[int(j[3])] for j in rows.jurisdictions]

    def jid(idx: int | None) -> int | None:
        return None if idx is None else juris_ids[idx]

    step("jurisdictions", len(rows.jurisdictions))
    await _copy(
        conn,
        "gis_streets",
        ["name", "names", "norm", "jurisdiction_id", "highway"],
        ["text", "jsonb", "text", "int", "text"],
        [(r[0], r[1], r[2], jid(r[3]), r[4], r[5]) for r in rows.streets],
        region,
    )
    step("streets", len(rows.streets))
    # a street row is one name in one jurisdiction: how its database id is found again
    street_rows = (
        await conn.execute(
            text("SELECT id, name, jurisdiction_id FROM gis_streets WHERE region = :r"),
            {"r": region},
        )
    ).all()
    street_id_of = {(r.name, r.jurisdiction_id): int(r.id) for r in street_rows}
    street_ids = [street_id_of[(r[0], jid(r[3]))] for r in rows.streets]
    await _copy(
        conn,
        "gis_addresses",
        [
            "street",
            "street_norm",
            "place",
            "housenumber",
            "postcode",
            "city",
            "jurisdiction_id",
            "street_id",
            "osm_type",
            "osm_id",
        ],
        ["text", "text", "text", "text", "text", "text", "int", "bigint", "char(1)", "bigint"],
        _counted(
            _address_records(rows, juris_ids, street_ids),
            "addresses",
            len(parsed.addresses),
            progress,
        ),
        region,
    )
    await _copy(
        conn,
        "gis_places",
        [
            "name",
            "names",
            "norm",
            "kind",
            "jurisdiction_id",
            "street",
            "housenumber",
            "osm_type",
            "osm_id",
        ],
        ["text", "jsonb", "text", "text", "int", "text", "text", "char(1)", "bigint"],
        _counted(_place_records(rows, juris_ids), "places", len(parsed.places), progress),
        region,
    )

    graph = rows.graph
    n_vertices = len(graph.vertex_nodes)
    base = 0
    if n_vertices:
        base = int(
            (
                await conn.execute(
                    text(
                        "SELECT setval('gis_road_vertices_id_seq', "
                        "nextval('gis_road_vertices_id_seq') + :n - 1) - :n + 1"
                    ),
                    {"n": n_vertices},
                )
            ).scalar_one()
        )
    await _copy(
        conn,
        "gis_road_vertices",
        ["id", "osm_node_id"],
        ["bigint", "bigint"],
        _counted(_vertex_records(graph, base), "road vertices", n_vertices, progress),
        region,
    )
    await _copy(
        conn,
        "gis_road_edges",
        [
            "osm_way_id",
            "source",
            "target",
            "cost_s",
            "reverse_cost_s",
            "length_m",
            "highway",
            "name",
            "maxspeed_kmh",
        ],
        ["bigint", "bigint", "bigint", "float8", "float8", "float8", "text", "text", "float8"],
        _counted(_edge_records(graph, base), "road edges", len(graph.edges), progress),
        region,
    )
    await _copy(
        conn,
        "gis_features",
        list(FEATURE_COLUMNS[:-1]),
        ["text", "text", "text"],
        rows.features,
        region,
        progress=progress,
    )
    step("features", len(rows.features))


def _database_reason(exc: BaseException) -> str:
    """The database's own words for a failure, without the statement that failed."""
    orig = getattr(exc, "orig", None) or exc
    text_ = str(orig).split("\n[SQL:", 1)[0].strip()
    if text_.startswith("<class "):
        text_ = text_.split(">: ", 1)[-1]
    return text_ or type(exc).__name__


IMPORT_STATEMENT_TIMEOUT_MS = 600_000
"""Longest one statement of an import may run (bulk inserts and deletes of a city's rows)."""


async def _statement_timeout(conn: AsyncConnection, ms: int) -> None:
    """``SET LOCAL``: for this transaction only, the pooled connection keeps its own."""
    await conn.execute(text(f"SET LOCAL statement_timeout = {int(ms)}"))


async def import_osm(
    engine: AsyncEngine,
    path: str | Path,
    region: str,
    progress: ProgressFn | None = None,
    listeners: Sequence[RegionListener] = (),
    statement_timeout_ms: int = IMPORT_STATEMENT_TIMEOUT_MS,
) -> ImportSummary:
    """Replace ``region`` with the contents of an OSM extract, all or nothing.

    The import's own transaction runs with ``statement_timeout_ms`` (the service's short
    statement timeout would stop its bulk statements on a database that holds other regions).

    ``progress(stage, done, total)`` is called on the way (from a worker thread while reading);
    ``listeners`` (this process's caches of the region) are told once the new data is in.
    Raises :class:`ImportFailed` (nothing changed) when the file or the data cannot be used.
    """
    started = time.perf_counter()
    check_region_name(region)
    file = Path(path)
    parsed = await asyncio.to_thread(read_extract, file, progress)
    try:
        return await _import_parsed(
            engine, parsed, file, region, progress, listeners, statement_timeout_ms, started
        )
    finally:
        parsed.close()


async def _import_parsed(
    engine: AsyncEngine,
    parsed: ParsedExtract,
    file: Path,
    region: str,
    progress: ProgressFn | None,
    listeners: Sequence[RegionListener],
    statement_timeout_ms: int,
    started: float,
) -> ImportSummary:
    try:
        rows = await asyncio.to_thread(_shape_rows, parsed, progress)
    except GisError:
        raise
    except (ValueError, shapely.errors.ShapelyError) as exc:
        raise ImportFailed(
            f"cannot use the data in {file.name}: {exc}",
            code="import.data_unusable",
            file=file.name,
            reason=str(exc),
        ) from exc
    if not rows.streets and not len(parsed.addresses) and not parsed.places:
        raise ImportFailed(
            f"{file.name} holds no named streets, addresses or places: refusing to replace "
            f"region {region!r} with an empty map",
            code="import.nothing_named",
            file=file.name,
            region=region,
        )
    if progress is not None:
        progress("writing", 0, None)
    try:
        async with engine.begin() as conn:
            await _statement_timeout(conn, statement_timeout_ms)
            await _write(conn, region, rows, file.name, progress)
    except (DBAPIError, SQLAlchemyError, OSError) as exc:
        raise ImportFailed(
            f"writing region {region!r} failed, the previous data is unchanged: "
            f"{_database_reason(exc)}",
            code="import.write_failed",
            region=region,
            reason=_database_reason(exc),
        ) from exc
    # Fresh planner statistics: without them pgRouting's edge queries on a newly imported
    # network run tens of times slower until autovacuum gets round to it.
    if progress is not None:
        progress("analysing", 0, None)
    async with engine.connect() as conn:
        await _statement_timeout(conn, statement_timeout_ms)
        for table in metadata.sorted_tables:
            await conn.execute(text(f"ANALYZE {table.name}"))
        await conn.commit()
    for listener in listeners:
        listener.region_imported(region)
    return ImportSummary(
        region=region,
        srid_metric=rows.srid_metric,
        jurisdictions=len(rows.jurisdictions),
        jurisdiction_level=rows.jurisdiction_level,
        streets=len(rows.streets),
        addresses=len(parsed.addresses),
        places=len(parsed.places),
        road_vertices=len(rows.graph.vertex_nodes),
        road_edges=len(rows.graph.edges),
        features=len(rows.features),
        seconds=time.perf_counter() - started,
    )
