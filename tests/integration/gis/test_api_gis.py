"""GET /api/v1/gis/geocode and /typeahead over HTTP: roles, answers and clear 4xx errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from command import bootstrap
from command.api import maps as gis_api
from command.app import create_app
from command.bootstrap import Container
from command.settings import Settings
from gis.osm_import import import_osm
from tests.integration.gis.conftest import EXTRACT, REGION
from tests.support import builders

pytestmark = pytest.mark.slow  # imports the extract into its own database


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    settings = Settings(database_url=database_url)
    container = await bootstrap.start(settings)
    try:
        await import_osm(container.engine, EXTRACT, REGION)
        app = create_app(settings, container)
        if not any(getattr(r, "path", "") == "/api/v1/gis/geocode" for r in app.routes):
            app.include_router(gis_api.router)
        app.state.container = container
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cad.test") as http:
            yield http, container
    finally:
        await bootstrap.stop(container)


async def test_geocode_typeahead_roles_and_bad_input(
    api: tuple[httpx.AsyncClient, Container],
) -> None:
    http, container = api
    headers = await builders.signed_in(http, container.engine, "cora", "call_taker")

    r = await http.get(
        "/api/v1/gis/geocode",
        params={"q": "Feldstrasse 34, Triesen", "region": REGION, "limit": 3},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert 1 <= len(body["candidates"]) <= 3
    top = body["candidates"][0]
    assert top["kind"] == "address"
    assert top["jurisdiction"] == "Triesen"
    assert {"lat", "lon", "label", "score", "explanation"} <= set(top)

    # "Landstrasse 6" exists in Schaan and in Triesenberg: the caller's position decides
    for near_lat, near_lon, town in ((47.166, 9.509, "Schaan"), (47.117, 9.543, "Triesenberg")):
        r = await http.get(
            "/api/v1/gis/geocode",
            params={
                "q": "Landstrasse 6",
                "region": REGION,
                "near_lat": near_lat,
                "near_lon": near_lon,
            },
            headers=headers,
        )
        assert r.status_code == 200, r.text
        assert r.json()["candidates"][0]["jurisdiction"] == town

    r = await http.get(
        "/api/v1/gis/typeahead", params={"q": "Landstr", "region": REGION}, headers=headers
    )
    assert r.status_code == 200
    assert "Landstrasse" in [s["text"] for s in r.json()["suggestions"]]

    bad: list[tuple[dict[str, str | int | float], int, str]] = [
        ({"q": "", "region": REGION}, 422, "empty"),
        ({"q": "x" * 10_000, "region": REGION}, 422, "characters"),
        ({"q": "Feldstrasse 1", "region": "atlantis"}, 404, "not been imported"),
        ({"q": "Feldstrasse 1", "region": REGION, "limit": 0}, 422, "limit"),
        ({"q": "Feldstrasse 1", "region": REGION, "near_lat": 47.1}, 422, "near_lon"),
        ({"q": "Feldstrasse 1", "region": REGION, "near_lat": 95, "near_lon": 9}, 422, "95"),
    ]
    for params, status, words in bad:
        r = await http.get("/api/v1/gis/geocode", params=params, headers=headers)
        assert r.status_code == status, (params, r.text)
        assert words in r.text

    r = await http.get("/api/v1/gis/geocode", params={"q": "Feldstrasse 1", "region": REGION})
    assert r.status_code == 401
    field = {"Authorization": f"Bearer {await builders.device(container.engine, 'truck-1')}"}
    r = await http.get(
        "/api/v1/gis/geocode", params={"q": "Feldstrasse 1", "region": REGION}, headers=field
    )
    assert r.status_code == 403
