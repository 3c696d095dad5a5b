"""The map's HTTP endpoints on the imported Liechtenstein data: answers, roles, clear 4xx.

The app is the real one (``command.app.create_app``), served in-process over ASGI; users and
tokens are real rows in the shared database.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command import bootstrap
from command.api import maps
from command.app import create_app
from command.settings import Settings
from tests.support.builders import signed_in

REGION = "liechtenstein"
VADUZ = (47.1397, 9.5215)  # lat, lon
SCHAAN = (47.1661, 9.5093)
SQUARE = [[9.515, 47.135], [9.530, 47.135], [9.530, 47.145], [9.515, 47.145], [9.515, 47.135]]
BOWTIE = [[9.515, 47.135], [9.530, 47.145], [9.530, 47.135], [9.515, 47.145], [9.515, 47.135]]
_names = itertools.count(1)


@pytest.fixture
async def http(liechtenstein: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    url = liechtenstein.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url)
    container = await bootstrap.start(settings)
    app = create_app(settings, container)
    app.state.container = container
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://cad.test") as client:
            yield client
    finally:
        await bootstrap.stop(container)


async def headers(http: httpx.AsyncClient, engine: AsyncEngine, roles: str) -> dict[str, str]:
    return await signed_in(http, engine, f"gis-map-{next(_names)}", roles)


async def test_reverse_and_jurisdiction(
    http: httpx.AsyncClient, liechtenstein: AsyncEngine
) -> None:
    auth = await headers(http, liechtenstein, "call_taker")
    lat, lon = VADUZ
    answer = await http.get(
        "/api/v1/gis/reverse", params={"lat": lat, "lon": lon, "region": REGION}, headers=auth
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["kind"] in ("address", "street", "intersection")
    assert body["jurisdiction"]["name"] == "Vaduz"
    assert body["distance_m"] < 150

    where = await http.get(
        "/api/v1/gis/jurisdiction",
        params={"lat": SCHAAN[0], "lon": SCHAAN[1], "region": REGION},
        headers=auth,
    )
    assert where.status_code == 200
    assert where.json()["name"] == "Schaan"
    abroad = await http.get(
        "/api/v1/gis/jurisdiction",
        params={"lat": 47.37, "lon": 8.54, "region": REGION},
        headers=auth,
    )
    assert abroad.status_code == 404

    bad = await http.get(
        "/api/v1/gis/reverse", params={"lat": 95, "lon": lon, "region": REGION}, headers=auth
    )
    assert bad.status_code == 422
    assert "latitude 95 is outside -90..90" in bad.json()["message"]
    unknown = await http.get(
        "/api/v1/gis/reverse", params={"lat": lat, "lon": lon, "region": "atlantis"}, headers=auth
    )
    assert unknown.status_code == 404
    assert "atlantis" in unknown.json()["message"]


async def test_routes_need_a_signed_in_role(
    http: httpx.AsyncClient, liechtenstein: AsyncEngine
) -> None:
    params: dict[str, float | str] = {"lat": VADUZ[0], "lon": VADUZ[1], "region": REGION}
    assert (await http.get("/api/v1/gis/reverse", params=params)).status_code == 401
    assert (await http.get("/api/v1/gis/tiles/14/8625/5753.pbf")).status_code == 401
    call_taker = await headers(http, liechtenstein, "call_taker")
    refused = await http.post(
        "/api/v1/gis/zones",
        json={
            "region": REGION,
            "name": "x",
            "kind": "tunnel",
            "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
        },
        headers=call_taker,
    )
    assert refused.status_code == 403


async def zone_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM gis_zones")) or 0)


async def test_zones_over_http(http: httpx.AsyncClient, liechtenstein: AsyncEngine) -> None:
    auth = await headers(http, liechtenstein, "supervisor")
    before = await zone_count(liechtenstein)
    crossing = await http.post(
        "/api/v1/gis/zones",
        json={
            "region": REGION,
            "name": "Bow tie",
            "kind": "industrial_park",
            "geometry": {"type": "Polygon", "coordinates": [BOWTIE]},
        },
        headers=auth,
    )
    assert crossing.status_code == 422
    assert "Self-intersection at or near point" in crossing.json()["message"]
    assert await zone_count(liechtenstein) == before

    created = await http.post(
        "/api/v1/gis/zones",
        json={
            "region": REGION,
            "name": f"Vaduz centre {next(_names)}",
            "kind": "district",
            "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
        },
        headers=auth,
    )
    assert created.status_code == 201, created.text
    feature = created.json()
    assert feature["type"] == "Feature"
    zone_id = feature["id"]
    try:
        at = await http.get(
            "/api/v1/gis/zones/at",
            params={"lat": 47.14, "lon": 9.52, "region": REGION},
            headers=auth,
        )
        assert zone_id in [f["id"] for f in at.json()["features"]]
        listed = await http.get("/api/v1/gis/zones", params={"region": REGION}, headers=auth)
        assert zone_id in [f["id"] for f in listed.json()["features"]]
    finally:
        gone = await http.delete(
            f"/api/v1/gis/zones/{zone_id}", params={"region": REGION}, headers=auth
        )
    assert gone.status_code == 204
    again = await http.delete(
        f"/api/v1/gis/zones/{zone_id}", params={"region": REGION}, headers=auth
    )
    assert again.status_code == 404
    assert await zone_count(liechtenstein) == before


async def test_route_over_http(http: httpx.AsyncClient, liechtenstein: AsyncEngine) -> None:
    auth = await headers(http, liechtenstein, "field_unit")
    answer = await http.get(
        "/api/v1/gis/route",
        params={
            "from": f"{SCHAAN[0]},{SCHAAN[1]}",
            "to": f"{VADUZ[0]},{VADUZ[1]}",
            "region": REGION,
        },
        headers=auth,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert 60 < body["seconds"] < 1800
    assert body["metres"] > 2000
    assert body["geometry"]["type"] == "LineString"
    first = body["geometry"]["coordinates"][0]
    assert math.isclose(first[0], SCHAAN[1], abs_tol=1e-6)
    assert math.isclose(first[1], SCHAAN[0], abs_tol=1e-6)

    garbage = await http.get(
        "/api/v1/gis/route",
        params={"from": "Städtle", "to": "47.14,9.52", "region": REGION},
        headers=auth,
    )
    assert garbage.status_code == 422
    assert "from='Städtle' is not a coordinate pair" in garbage.json()["message"]
    polar = await http.get(
        "/api/v1/gis/route",
        params={"from": "95.0,9.5", "to": "47.14,9.52", "region": REGION},
        headers=auth,
    )
    assert polar.status_code == 422
    assert "latitude 95" in polar.json()["message"]


async def test_tiles_and_style_over_http(
    http: httpx.AsyncClient, liechtenstein: AsyncEngine
) -> None:
    auth = await headers(http, liechtenstein, "dispatcher")
    tile = await http.get("/api/v1/gis/tiles/15/17250/11506.pbf", headers=auth)
    assert tile.status_code == 200
    assert tile.headers["content-type"] == maps.TILE_MEDIA_TYPE
    assert len(tile.content) > 1000
    empty = await http.get("/api/v1/gis/tiles/10/0/0.pbf", headers=auth)
    assert empty.status_code == 200
    assert empty.content == b""
    deep = await http.get("/api/v1/gis/tiles/30/0/0.pbf", headers=auth)
    assert deep.status_code == 422
    assert "zoom 30 is outside 0..22" in deep.json()["message"]
    off = await http.get("/api/v1/gis/tiles/2/4/0.pbf", headers=auth)
    assert off.status_code == 422
    style = await http.get("/api/v1/gis/style.json", headers=auth)
    assert style.status_code == 200
    assert style.json()["sources"]["cad"]["tiles"] == ["/api/v1/gis/tiles/{z}/{x}/{y}.pbf"]


async def test_the_regions_for_opening_a_map(
    http: httpx.AsyncClient, liechtenstein: AsyncEngine
) -> None:
    auth = await headers(http, liechtenstein, "supervisor")
    listed = await http.get("/api/v1/gis/regions", headers=auth)
    assert listed.status_code == 200, listed.text
    (only,) = listed.json()["regions"]
    assert only["name"] == REGION
    west, south, east, north = only["bbox"]
    assert west < VADUZ[1] < east
    assert south < VADUZ[0] < north
    one = await http.get(f"/api/v1/gis/regions/{REGION}", headers=auth)
    assert one.json() == only
    assert (await http.get("/api/v1/gis/regions")).status_code == 401
