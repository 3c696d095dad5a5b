"""What an import writes, row for row: a digest of every table of a region imported from the
shared extracts, against the digests of the same import by the importer that held the whole
extract in Python objects (the streaming, columnar importer must write exactly the same rows).

Database ids differ between databases, so rows refer to each other here by what they hold (a
jurisdiction by its OSM id, a street by its name, a road vertex by its OSM node); costs and
lengths are compared to the micrometre, geometries byte for byte (WKB).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gis.osm_import import import_osm

OSM = Path(__file__).resolve().parents[4] / "shared" / "data" / "osm"

_ROWS = {
    "gis_jurisdictions": (
        "SELECT concat_ws('|', name, admin_level, names::text, osm_id, md5(ST_AsBinary(geom)))"
        " FROM gis_jurisdictions WHERE region = :r"
    ),
    "gis_streets": (
        "SELECT concat_ws('|', s.name, s.names::text, s.norm, j.osm_id, s.highway,"
        " md5(ST_AsBinary(s.geom)))"
        " FROM gis_streets s LEFT JOIN gis_jurisdictions j ON j.id = s.jurisdiction_id"
        " WHERE s.region = :r"
    ),
    "gis_addresses": (
        "SELECT concat_ws('|', a.street, a.street_norm, a.place, a.housenumber, a.postcode,"
        " a.city, j.osm_id, a.osm_type, a.osm_id, s.name, md5(ST_AsBinary(s.geom)),"
        " md5(ST_AsBinary(a.geom)))"
        " FROM gis_addresses a LEFT JOIN gis_jurisdictions j ON j.id = a.jurisdiction_id"
        " LEFT JOIN gis_streets s ON s.id = a.street_id WHERE a.region = :r"
    ),
    "gis_places": (
        "SELECT concat_ws('|', p.name, p.names::text, p.norm, p.kind, j.osm_id, p.street,"
        " p.housenumber, p.osm_type, p.osm_id, md5(ST_AsBinary(p.geom)))"
        " FROM gis_places p LEFT JOIN gis_jurisdictions j ON j.id = p.jurisdiction_id"
        " WHERE p.region = :r"
    ),
    "gis_road_vertices": (
        "SELECT concat_ws('|', osm_node_id, md5(ST_AsBinary(geom)))"
        " FROM gis_road_vertices WHERE region = :r"
    ),
    "gis_road_edges": (
        "SELECT concat_ws('|', e.osm_way_id, a.osm_node_id, b.osm_node_id,"
        " round(e.cost_s::numeric, 6), round(e.reverse_cost_s::numeric, 6),"
        " round(e.length_m::numeric, 6), e.highway, e.name,"
        " e.maxspeed_kmh, md5(ST_AsBinary(e.geom)))"
        " FROM gis_road_edges e JOIN gis_road_vertices a ON a.id = e.source"
        " JOIN gis_road_vertices b ON b.id = e.target WHERE e.region = :r"
    ),
    "gis_features": (
        "SELECT concat_ws('|', layer, kind, name, md5(ST_AsBinary(geom)))"
        " FROM gis_features WHERE region = :r"
    ),
}

EXPECTED: dict[str, dict[str, tuple[int, str]]] = {
    "liechtenstein": {
        "gis_jurisdictions": (11, "1cfbc728dd2d80273e72b335357161f9"),
        "gis_streets": (994, "ffc35e1c07a85670a63f57bb71868ae1"),
        "gis_addresses": (1001, "cde40d61a2fd5a14a67567c53a0cbaf7"),
        "gis_places": (545, "cbc945c86d35e940f38e5813320f4c96"),
        "gis_road_vertices": (4907, "d1f55096e57dbe58feddc34f16976e28"),
        "gis_road_edges": (5736, "eed722e2bf0c2933ba28ba41c03c7a80"),
        "gis_features": (14563, "93ebbe5986698f3e2b29075a701e14a1"),
        "gis_regions": (
            32632,
            '{"places": 545, "streets": 994, "features": 14563, "addresses": 1001, '
            '"road_edges": 5736, "jurisdictions": 11, "road_vertices": 4907, '
            '"jurisdiction_level": 8} POLYGON((9.3999182 46.7862853,9.3999182 47.4348501,'
            "9.6399353 47.4348501,9.6399353 46.7862853,9.3999182 46.7862853))",
        ),
    },
    "munich": {
        "gis_jurisdictions": (5, "781a455af92b10809c1ce0d8fb3d50e0"),
        "gis_streets": (291, "a3a3865c78d38b060cb55fe927689be9"),
        "gis_addresses": (3265, "6820f8079581ac5878bf885713d66da9"),
        "gis_places": (2718, "ac5ca99da29c568d33da70c2823919a1"),
        "gis_road_vertices": (1087, "312268c8b9ed862fc648acd656bb9ee4"),
        "gis_road_edges": (1317, "2328dc170184d92bee4c7331de0a4c2c"),
        "gis_features": (5548, "771e8877b409ed3297a782aaeadeda1c"),
        "gis_regions": (
            32632,
            '{"places": 2718, "streets": 291, "features": 5548, "addresses": 3265, '
            '"road_edges": 1317, "jurisdictions": 5, "road_vertices": 1087, '
            '"jurisdiction_level": 10} POLYGON((11.5350901 48.0776358,11.5350901 48.1661167,'
            "11.7145908 48.1661167,11.7145908 48.0776358,11.5350901 48.0776358))",
        ),
    },
}


async def _digests(engine: AsyncEngine, region: str) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    async with engine.connect() as conn:
        for table, rows in _ROWS.items():
            count, digest = (
                await conn.execute(
                    text(
                        f"SELECT count(*), md5(string_agg(x, E'\\n' ORDER BY x)) FROM ({rows}) t(x)"
                    ),
                    {"r": region},
                )
            ).one()
            out[table] = (int(count), str(digest))
        stats = (
            await conn.execute(
                text(
                    "SELECT stats::text, srid_metric, ST_AsText(bbox) FROM gis_regions"
                    " WHERE name = :r"
                ),
                {"r": region},
            )
        ).one()
        out["gis_regions"] = (int(stats[1]), f"{stats[0]} {stats[2]}")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("extract", ["liechtenstein", "munich"])
async def test_an_import_writes_the_same_rows_as_before(engine: AsyncEngine, extract: str) -> None:
    await import_osm(engine, OSM / f"{extract}.osm.pbf", extract)
    assert await _digests(engine, extract) == EXPECTED[extract]
