"""Zones (stored, looked up, refused when invalid) and first-due areas on Liechtenstein.

Writes happen inside a transaction that is rolled back, so the shared import stays as it was.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from shapely.geometry import shape
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gis import routing_sql, zones
from gis.errors import (
    InvalidCoordinates,
    InvalidGeometry,
    InvalidInput,
    NotFound,
    RegionNotFoundError,
)
from gis.routing import RoadGraphs

REGION = "liechtenstein"
# Around Vaduz centre; a smaller square inside it.
VADUZ_SQUARE = [[9.515, 47.135], [9.530, 47.135], [9.530, 47.145], [9.515, 47.145], [9.515, 47.135]]
INNER_SQUARE = [[9.520, 47.138], [9.524, 47.138], [9.524, 47.141], [9.520, 47.141], [9.520, 47.138]]
BOWTIE = [[9.515, 47.135], [9.530, 47.145], [9.530, 47.135], [9.515, 47.145], [9.515, 47.135]]
STATIONS = [
    ("vaduz", 9.5215, 47.1397),
    ("schaan", 9.5093, 47.1661),
    ("balzers", 9.5000, 47.0660),
    ("eschen", 9.5230, 47.2110),
    ("triesenberg", 9.5430, 47.1180),
]


def polygon(ring: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
async def conn(liechtenstein: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with liechtenstein.connect() as connection:
        await connection.begin()
        yield connection
        await connection.rollback()


async def zone_count(conn: AsyncConnection) -> int:
    return int(await conn.scalar(text("SELECT count(*) FROM gis_zones")) or 0)


async def test_create_and_find_zones(conn: AsyncConnection) -> None:
    outer = await zones.create_zone(conn, REGION, "Vaduz centre", "district", polygon(VADUZ_SQUARE))
    inner = await zones.create_zone(
        conn,
        REGION,
        "  Town hall block ",
        "civic",
        {"type": "Feature", "properties": {}, "geometry": polygon(INNER_SQUARE)},
    )
    assert inner.name == "Town hall block"
    assert outer.geometry["type"] == "MultiPolygon"
    assert shape(outer.geometry).area == pytest.approx(0.015 * 0.010, rel=1e-6)

    found = await zones.zones_at(conn, REGION, 9.522, 47.139)
    assert [z.name for z in found] == ["Town hall block", "Vaduz centre"]  # smallest first
    assert [z.name for z in await zones.zones_at(conn, REGION, 9.516, 47.136)] == ["Vaduz centre"]
    assert await zones.zones_at(conn, REGION, 9.60, 47.20) == []
    # a point on the boundary is in the zone
    assert [z.name for z in await zones.zones_at(conn, REGION, 9.515, 47.140)] == ["Vaduz centre"]

    listed = await zones.list_zones(conn, REGION)
    assert [z.id for z in listed] == [inner.id, outer.id]
    feature = zones.zone_feature(outer)
    assert feature["properties"]["kind"] == "district"

    await zones.delete_zone(conn, REGION, inner.id)
    assert [z.name for z in await zones.zones_at(conn, REGION, 9.522, 47.139)] == ["Vaduz centre"]
    with pytest.raises(NotFound, match=f"no zone {inner.id}"):
        await zones.delete_zone(conn, REGION, inner.id)


async def test_invalid_zones_write_nothing(conn: AsyncConnection) -> None:
    before = await zone_count(conn)
    with pytest.raises(InvalidGeometry, match="Self-intersection at or near point"):
        await zones.create_zone(conn, REGION, "Bow tie", "industrial_park", polygon(BOWTIE))
    with pytest.raises(InvalidCoordinates, match="latitude 95"):
        await zones.create_zone(
            conn,
            REGION,
            "North pole",
            "tunnel",
            polygon([[9.5, 47.1], [9.6, 95.0], [9.7, 47.1], [9.5, 47.1]]),
        )
    with pytest.raises(InvalidGeometry, match="far outside region"):
        ring = [[100.0, 10.0], [100.1, 10.0], [100.1, 10.1], [100.0, 10.0]]
        await zones.create_zone(conn, REGION, "Elsewhere", "tunnel", polygon(ring))
    with pytest.raises(InvalidInput, match="needs a name"):
        await zones.create_zone(conn, REGION, "  ", "tunnel", polygon(VADUZ_SQUARE))
    with pytest.raises(InvalidInput, match="kind 'Tunnel!'"):
        await zones.create_zone(conn, REGION, "T", "Tunnel!", polygon(VADUZ_SQUARE))
    with pytest.raises(RegionNotFoundError, match="atlantis"):
        await zones.create_zone(conn, "atlantis", "T", "tunnel", polygon(VADUZ_SQUARE))
    assert await zone_count(conn) == before

    await zones.create_zone(conn, REGION, "Vaduz centre", "district", polygon(VADUZ_SQUARE))
    with pytest.raises(InvalidInput, match="already has a zone named 'Vaduz centre'"):
        await zones.create_zone(conn, REGION, "Vaduz centre", "district", polygon(INNER_SQUARE))
    # the failed duplicate left the first zone and the transaction usable
    assert await zone_count(conn) == before + 1


async def test_first_due_areas_partition_the_country(conn: AsyncConnection) -> None:
    areas = await zones.first_due_areas(conn, REGION, STATIONS)
    assert set(areas) == {s[0] for s in STATIONS}
    shapes = {}
    for name, geometry in areas.items():
        assert geometry is not None, name
        assert geometry["type"] == "MultiPolygon"
        shapes[name] = shape(geometry)
        assert shapes[name].is_valid
    # Each station is inside its own area.
    for name, lon, lat in STATIONS:
        assert (
            shapes[name].buffer(1e-6).contains(shape({"type": "Point", "coordinates": [lon, lat]}))
        )
    # Areas do not overlap and together cover the country's outline.
    names = list(shapes)
    for n, a in enumerate(names):
        for b in names[n + 1 :]:
            assert shapes[a].intersection(shapes[b]).area < 1e-9, (a, b)
    country = await conn.scalar(
        text(
            "SELECT ST_Area(ST_Union(geom)) FROM gis_jurisdictions WHERE region = :r"
            " AND admin_level = (SELECT min(admin_level) FROM gis_jurisdictions WHERE region = :r)"
        ),
        {"r": REGION},
    )
    assert sum(s.area for s in shapes.values()) == pytest.approx(float(country), rel=1e-3)


async def test_first_due_matches_the_fastest_station_by_drive_time(conn: AsyncConnection) -> None:
    areas = await zones.first_due_areas(conn, REGION, STATIONS)
    await zones.store_first_due(conn, REGION, areas)
    # Road vertices on the main network, spread over the country.
    points = (
        await conn.execute(
            text(
                "SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM gis_road_vertices"
                " WHERE region = :r AND NOT (id = ANY(:iso)) ORDER BY id"
            ),
            {"r": REGION, "iso": list(await routing_sql.isolated_vertices(conn, REGION))},
        )
    ).all()
    sample = points[:: max(1, len(points) // 40)]
    roads = RoadGraphs()
    agree = 0
    for point in sample:
        times = await roads.drive_times(conn, REGION, STATIONS, (point.lon, point.lat))
        reachable = {k: v for k, v in times.items() if v is not None}
        fastest = min(reachable, key=lambda k: reachable[k])
        owner = await zones.first_due_station_at(conn, REGION, point.lon, point.lat)
        if owner == fastest:
            agree += 1
    # Vertices are the Voronoi sites, so they should almost all agree (ties and snapping aside).
    assert agree >= 0.9 * len(sample), (agree, len(sample))


async def test_first_due_bad_input(conn: AsyncConnection) -> None:
    with pytest.raises(InvalidInput, match="at least one station"):
        await zones.first_due_areas(conn, REGION, [])
    with pytest.raises(InvalidInput, match="given twice"):
        await zones.first_due_areas(conn, REGION, [STATIONS[0], STATIONS[0]])
    with pytest.raises(InvalidCoordinates, match="latitude 95"):
        await zones.first_due_areas(conn, REGION, [("x", 9.5, 95.0)])
    with pytest.raises(RegionNotFoundError):
        await zones.first_due_areas(conn, "atlantis", STATIONS)


async def test_storing_first_due_areas_replaces_the_region_s_previous_ones(
    conn: AsyncConnection,
) -> None:
    square = polygon(VADUZ_SQUARE)
    await zones.store_first_due(conn, REGION, {"vaduz": square, "schaan": square}, 900.0)
    await zones.store_first_due(conn, REGION, {"vaduz": square, "balzers": None}, 600.0)
    rows = (
        await conn.execute(
            text(
                "SELECT region, station, max_seconds, GeometryType(geom) AS kind"
                " FROM gis_first_due ORDER BY station"
            )
        )
    ).all()
    assert [tuple(r) for r in rows] == [(REGION, "vaduz", 600.0, "MULTIPOLYGON")]
    assert await zones.first_due_station_at(conn, REGION, 9.522, 47.139) == "vaduz"
    assert await zones.first_due_station_at(conn, REGION, 9.60, 47.20) is None
