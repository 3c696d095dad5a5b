"""Importing OSM extracts: what Liechtenstein yields, a routable graph, all-or-nothing updates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gis.errors import ImportFailed
from gis.geocode.service import Geocoder
from gis.osm_import import ImportSummary, import_osm
from tests.integration.gis.conftest import EXTRACT

MUNICIPALITIES = {
    "Balzers", "Eschen", "Gamprin", "Mauren", "Planken", "Ruggell", "Schaan", "Schellenberg",
    "Triesen", "Triesenberg", "Vaduz",
}  # fmt: skip

COUNTED = (
    "gis_jurisdictions",
    "gis_streets",
    "gis_addresses",
    "gis_places",
    "gis_road_vertices",
    "gis_road_edges",
    "gis_features",
)


async def _counts(engine: AsyncEngine, region: str) -> dict[str, int]:
    out: dict[str, int] = {}
    async with engine.connect() as conn:
        for table in COUNTED:
            out[table] = int(
                await conn.scalar(
                    text(f"SELECT count(*) FROM {table} WHERE region = :r"),
                    {"r": region},
                )
            )
        gen = await conn.scalar(
            text("SELECT generation FROM gis_regions WHERE name = :r"), {"r": region}
        )
        out["generation"] = int(gen) if gen is not None else 0
    return out


async def test_liechtenstein_has_its_municipalities_stations_and_addresses(
    liechtenstein_import: tuple[str, ImportSummary], liechtenstein: AsyncEngine
) -> None:
    _, summary = liechtenstein_import
    assert summary.jurisdiction_level == 8
    assert summary.srid_metric == 32632  # UTM zone 32N
    async with liechtenstein.connect() as conn:
        names = set((await conn.execute(text("SELECT name FROM gis_jurisdictions"))).scalars())
        stations = await conn.scalar(
            text("SELECT count(*) FROM gis_places WHERE kind = 'amenity=fire_station'")
        )
        addresses = await conn.scalar(text("SELECT count(*) FROM gis_addresses"))
        located = await conn.scalar(
            text("SELECT count(*) FROM gis_addresses WHERE jurisdiction_id IS NOT NULL")
        )
        streets = await conn.scalar(text("SELECT count(DISTINCT name) FROM gis_streets"))
        invalid = await conn.scalar(
            text("SELECT count(*) FROM gis_jurisdictions WHERE NOT ST_IsValid(geom)")
        )
    assert names == MUNICIPALITIES
    assert stations == 6
    assert 950 <= addresses <= 1100
    assert located / addresses > 0.95
    assert streets > 800
    assert invalid == 0


async def test_road_graph_is_routable_with_one_way_rules(liechtenstein: AsyncEngine) -> None:
    async with liechtenstein.connect() as conn:
        oneway = await conn.scalar(
            text("SELECT count(*) FROM gis_road_edges WHERE reverse_cost_s < 0 OR cost_s < 0")
        )
        dangling = await conn.scalar(
            text(
                "SELECT count(*) FROM gis_road_edges e WHERE NOT EXISTS "
                "(SELECT 1 FROM gis_road_vertices v WHERE v.id = e.source)"
            )
        )
        # Vaduz town hall area to Schaan centre: both ends snapped to the nearest vertex.
        seconds = await conn.scalar(
            text(
                "WITH a AS (SELECT id FROM gis_road_vertices ORDER BY geom <-> "
                "ST_SetSRID(ST_MakePoint(9.5219, 47.1407), 4326) LIMIT 1), "
                "b AS (SELECT id FROM gis_road_vertices ORDER BY geom <-> "
                "ST_SetSRID(ST_MakePoint(9.5103, 47.1663), 4326) LIMIT 1) "
                "SELECT max(agg_cost) FROM pgr_dijkstra("
                "'SELECT id, source, target, cost_s AS cost, reverse_cost_s AS reverse_cost "
                "FROM gis_road_edges', (SELECT id FROM a), (SELECT id FROM b), directed => true)"
            )
        )
    assert oneway > 0
    assert dangling == 0
    assert seconds is not None
    assert 120 < seconds < 1200  # about 3.5 km by road


@pytest.mark.slow
async def test_failed_import_leaves_the_region_and_reimport_replaces_it(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    first = await import_osm(engine, EXTRACT, "li")
    before = await _counts(engine, "li")
    assert before["gis_addresses"] == first.addresses
    geocoder = Geocoder(engine)
    index = await geocoder.index("li")

    truncated = tmp_path / "truncated.osm.pbf"
    truncated.write_bytes(EXTRACT.read_bytes()[: EXTRACT.stat().st_size // 2])
    with pytest.raises(ImportFailed, match=r"cannot read OSM file truncated\.osm\.pbf"):
        await import_osm(engine, truncated, "li")
    garbage = tmp_path / "garbage.osm.pbf"
    garbage.write_bytes(b"this is not a protocol buffer\n" * 10)
    with pytest.raises(ImportFailed, match="cannot read"):
        await import_osm(engine, garbage, "li")
    with pytest.raises(ImportFailed, match="does not exist"):
        await import_osm(engine, tmp_path / "missing.osm.pbf", "li")
    with pytest.raises(ImportFailed, match="region name"):
        await import_osm(engine, EXTRACT, "bad name; drop table")
    assert await _counts(engine, "li") == before
    assert (await geocoder.index("li")) is index

    # a failure while writing (here the database refuses the map features, the last step)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$"
            )
        )
        await conn.execute(
            text("CREATE TRIGGER refuse BEFORE INSERT ON gis_features EXECUTE FUNCTION refuse()")
        )
    with pytest.raises(ImportFailed, match=r"previous data is unchanged.*disk full"):
        await import_osm(engine, EXTRACT, "li")
    async with engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER refuse ON gis_features"))
        await conn.execute(text("DROP FUNCTION refuse()"))
    assert await _counts(engine, "li") == before
    assert (await geocoder.index("li")) is index

    copy = tmp_path / "again.osm.pbf"
    shutil.copy(EXTRACT, copy)
    await import_osm(engine, copy, "li", listeners=[geocoder])
    after = await _counts(engine, "li")
    assert after["generation"] == before["generation"] + 1
    assert {k: v for k, v in after.items() if k != "generation"} == {
        k: v for k, v in before.items() if k != "generation"
    }
    # the re-import evicted the cached index: the next search uses the new rows
    fresh = await geocoder.index("li")
    assert fresh is not index
    assert fresh.generation == after["generation"]
    found = await geocoder.geocode("li", "Feldstrasse 34, Triesen")
    assert found[0].kind == "address"


@pytest.mark.slow
async def test_import_is_not_stopped_by_the_service_statement_timeout(database_url: str) -> None:
    """The service's engines stop statements after a short time; an import's bulk statements
    into a database that already holds regions take longer, so its transaction has its own."""
    short = create_async_engine(
        database_url, connect_args={"server_settings": {"statement_timeout": "50"}}
    )
    try:
        first = await import_osm(short, EXTRACT, "li")
        again = await import_osm(short, EXTRACT, "li")  # replaces the region: deletes too
        other = await import_osm(short, EXTRACT, "li2")
        assert first.addresses == again.addresses == other.addresses > 0
        async with short.connect() as conn:
            # the pooled connections keep the service's timeout
            assert (await conn.execute(text("SHOW statement_timeout"))).scalar_one() == "50ms"
    finally:
        await short.dispose()
