"""The geocoding city generator and the import benchmark's extract of shifted copies, on the
shared extracts (what they build, not how fast)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.bench.geocode_city import CITY_REGION, generate_city
from command.bench.import_osm import write_copies
from command.errors import InvalidInput
from gis.geocode.service import Geocoder
from gis.osm_import import import_osm
from gis.osm_import_parse import read_extract

OSM = Path(__file__).resolve().parents[5] / "shared" / "data" / "osm"


def test_shifted_copies_hold_every_copy() -> None:
    base = OSM / "munich.osm.pbf"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "copies.osm.pbf"
        nodes = write_copies(base, 3, out)
        copies = read_extract(out)
    one = read_extract(base)
    assert len(copies.addresses) == 3 * len(one.addresses)
    assert nodes > 3 * len(one.addresses)
    assert copies.bounds is not None
    assert one.bounds is not None
    assert copies.bounds[2] > one.bounds[2]  # the copies lie side by side, to the east


@pytest.mark.slow
async def test_generated_city_is_searchable(engine: AsyncEngine) -> None:
    await import_osm(engine, OSM / "liechtenstein.osm.pbf", "li")
    with pytest.raises(InvalidInput, match="hold no addresses"):
        await generate_city(engine, 5_000, ["nowhere"])
    assert await generate_city(engine, 5_000, ["li"]) == 5_000
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT street, housenumber, count(*) AS n FROM gis_addresses "
                    "WHERE region = :r GROUP BY street, housenumber ORDER BY n DESC LIMIT 1"
                ),
                {"r": CITY_REGION},
            )
        ).all()
    async with engine.connect() as conn:
        names = {
            region: (
                await conn.execute(
                    text("SELECT count(DISTINCT street) FROM gis_addresses WHERE region = :r"),
                    {"r": region},
                )
            ).scalar_one()
            for region in (CITY_REGION, "li")
        }
    assert names[CITY_REGION] > 2 * names["li"]  # every tile's street names are its own
    top = (await Geocoder(engine).geocode(CITY_REGION, f"{rows[0].street} {rows[0].housenumber}"))[
        0
    ]
    assert (top.street, top.housenumber) == (rows[0].street, rows[0].housenumber)
