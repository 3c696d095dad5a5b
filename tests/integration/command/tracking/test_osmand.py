"""OsmAnd and Traccar Client reports against a real server: every request form stored as the
right position of the bound unit, on the API path and on the tracker port; unknown devices
refused and counted; device bindings by administrators only, audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.app import create_tracker_app
from dispatch.avl.osmand import KNOT_MPS
from ops.pgcluster import free_port
from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.live import LiveApp
from tests.support.tracking import marker

DEVICE = "357938035643809"  # a tracker's IMEI


async def _bound(live: LiveApp, engine: AsyncEngine, unit_id: str = "E1") -> dict[str, str]:
    await b.add_unit(engine, unit_id, "engine")
    admin = await builders.signed_in(live.http, engine, "root", "admin")
    r = await live.http.put(
        f"/api/v1/devices/bindings/{DEVICE}", headers=admin, json={"unit_id": unit_id}
    )
    assert r.status_code == 200, r.text
    return admin



@pytest.fixture
async def tracker_port(live: LiveApp) -> AsyncIterator[str]:
    """The tracker port (CAD_OSMAND_PORT) served beside the app, over the same container."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_tracker_app(live.container), host="127.0.0.1", port=port,
                       log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_every_osmand_form_is_stored_as_the_right_position(
    live: LiveApp, engine: AsyncEngine, tracker_port: str
) -> None:
    await _bound(live, engine)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)

    def at(i: int) -> datetime:
        return t0 + timedelta(seconds=30 * i)

    forms: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        # (how, the request, what must be stored)
        ("GET query, epoch seconds, knots", {"method": "GET", "url": "/api/v1/osmand", "params": {
            "id": DEVICE, "lat": "47.1410", "lon": "9.5209",
            "timestamp": str(int(at(0).timestamp())),
            "speed": "10", "bearing": "90", "altitude": "455", "accuracy": "6", "batt": "81"}},
         {"lat": 47.1410, "lon": 9.5209, "time": at(0), "speed": 10 * KNOT_MPS, "heading": 90,
          "altitude": 455, "accuracy": 6, "battery": 81}),
        ("GET deviceid, location, epoch ms, heading, hdop", {"method": "GET",
            "url": "/api/v1/osmand", "params": {
            "deviceid": DEVICE, "location": "47.1420,9.5219",
            "timestamp": str(int(at(1).timestamp() * 1000)), "heading": "45", "hdop": "1.2"}},
         {"lat": 47.1420, "lon": 9.5219, "time": at(1), "heading": 45, "accuracy": 6.0}),
        ("POST form, ISO 8601 with Z", {"method": "POST", "url": "/api/v1/osmand", "data": {
            "id": DEVICE, "lat": "47.1430", "lon": "9.5229",
            "timestamp": at(2).strftime("%Y-%m-%dT%H:%M:%SZ")}},
         {"lat": 47.1430, "lon": 9.5229, "time": at(2)}),
        ("POST with the fields in the query (the OsmAnd app)", {"method": "POST",
            "url": "/api/v1/osmand", "params": {
            "id": DEVICE, "lat": "47.1440", "lon": "9.5239",
            "timestamp": str(int(at(3).timestamp()))}},
         {"lat": 47.1440, "lon": 9.5239, "time": at(3)}),
        ("GET ISO 8601 without a zone (UTC)", {"method": "GET", "url": "/api/v1/osmand",
            "params": {"id": DEVICE, "lat": "47.1450", "lon": "9.5249",
                       "timestamp": at(4).strftime("%Y-%m-%d %H:%M:%S")}},
         {"lat": 47.1450, "lon": 9.5249, "time": at(4)}),
        ("POST Traccar Client 9 JSON", {"method": "POST", "url": "/api/v1/osmand", "json": {
            "device_id": DEVICE, "location": {
                "timestamp": at(5).isoformat().replace("+00:00", ".000Z"),
                "coords": {"latitude": 47.1460, "longitude": 9.5259, "accuracy": 4.5,
                           "speed": 12.5, "heading": 270, "altitude": 460},
                "is_moving": True, "odometer": 1200,
                "battery": {"level": 0.64, "is_charging": False}}}},
         {"lat": 47.1460, "lon": 9.5259, "time": at(5), "speed": 12.5, "heading": 270,
          "altitude": 460, "accuracy": 4.5, "battery": 64}),
        ("the tracker port, at /", {"method": "GET", "url": f"{tracker_port}/", "params": {
            "id": DEVICE, "lat": "47.1470", "lon": "9.5269",
            "timestamp": str(int(at(6).timestamp()))}},
         {"lat": 47.1470, "lon": 9.5269, "time": at(6)}),
    ]
    for how, request, want in forms:
        r = await live.http.request(**request)
        assert r.status_code == 200, (how, r.text)
        assert r.json()["unit_id"] == "E1", how
        fix = live.container.tracking.latest("E1")
        assert fix is not None
        got = {"lat": fix.lat, "lon": fix.lon, "time": fix.device_time, "speed": fix.speed_mps,
               "heading": fix.heading_deg, "altitude": fix.altitude_m,
               "accuracy": fix.accuracy_m, "battery": fix.battery_pct}
        for name, value in want.items():
            if isinstance(value, datetime):
                assert got[name] == value, (how, name, got)
            else:
                assert got[name] == pytest.approx(value), (how, name, got)
        assert fix.source == "osmand"
        await live.container.positions.flush()  # positions are stored in batches
        assert await marker(engine, "E1") == (want["lon"], want["lat"], want["time"]), how


async def test_an_unknown_device_is_refused_counted_and_never_stored(
    live: LiveApp, engine: AsyncEngine
) -> None:
    await _bound(live, engine)
    now = int(datetime.now(UTC).timestamp())
    for _ in range(2):
        r = await live.http.get(
            "/api/v1/osmand",
            params={"id": "999999", "lat": "47.14", "lon": "9.52", "timestamp": str(now)},
        )
        assert r.status_code == 404
        assert r.json()["code"] == "osmand.device_unknown"
        assert r.json()["params"] == {"device_id": "999999"}
    health = (await live.http.get("/api/v1/health")).json()["parts"]["trackers"]
    assert health["status"] == "ok"
    assert "2 refused from unknown devices (last: 999999)" in health["detail"]
    assert await marker(engine, "E1") == (None, None, None)
    assert live.container.tracking.latest_all() == {}


async def test_bad_requests_name_the_field_and_store_nothing(
    live: LiveApp, engine: AsyncEngine
) -> None:
    await _bound(live, engine)
    now = datetime.now(UTC)
    cases = [
        ({"id": DEVICE, "lon": "9.52"}, "osmand.field_missing", "lat"),
        ({"lat": "47.1", "lon": "9.52"}, "osmand.field_missing", "id"),
        ({"id": DEVICE, "location": "47.1"}, "osmand.field_invalid", "location"),
        ({"id": DEVICE, "lat": "x", "lon": "9.52"}, "osmand.field_invalid", "lat"),
        ({"id": DEVICE, "lat": "95", "lon": "9.52"}, "position.out_of_range", "lat"),
        ({"id": DEVICE, "lat": "47.1", "lon": "9.52",
          "timestamp": str(int((now + timedelta(hours=2)).timestamp()))},
         "position.time_in_future", "time"),
    ]
    for params, code, field in cases:
        r = await live.http.get("/api/v1/osmand", params=params)
        assert r.status_code == 422, params
        assert (r.json()["code"], r.json()["params"]["field"]) == (code, field), r.json()
    r = await live.http.post(
        "/api/v1/osmand", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.json()["code"] == "osmand.body_not_json"
    assert await marker(engine, "E1") == (None, None, None)


async def test_bindings_are_made_by_administrators_and_audited(
    live: LiveApp, engine: AsyncEngine
) -> None:
    admin = await _bound(live, engine)
    await b.add_unit(engine, "E2", "engine")
    dispatcher = await builders.signed_in(live.http, engine, "disp1", "dispatcher")
    r = await live.http.put(
        f"/api/v1/devices/bindings/{DEVICE}", headers=dispatcher, json={"unit_id": "E2"}
    )
    assert r.status_code == 403
    r = await live.http.put(
        "/api/v1/devices/bindings/T2", headers=admin, json={"unit_id": "NOPE"}
    )
    assert r.status_code == 404
    r = await live.http.put(
        f"/api/v1/devices/bindings/{DEVICE}", headers=admin, json={"unit_id": "E2"}
    )
    assert r.json()["unit_id"] == "E2"
    listed = (await live.http.get("/api/v1/devices/bindings", headers=admin)).json()
    assert [(x["device_id"], x["unit_id"]) for x in listed["bindings"]] == [(DEVICE, "E2")]
    r = await live.http.delete(f"/api/v1/devices/bindings/{DEVICE}", headers=admin)
    assert r.status_code == 200
    r = await live.http.delete(f"/api/v1/devices/bindings/{DEVICE}", headers=admin)
    assert (r.status_code, r.json()["code"]) == (404, "device.not_bound")
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT action, actor, result FROM audit_log WHERE object_type = 'device' "
                     "ORDER BY id")
            )
        ).all()
    assert [(r.action, r.actor) for r in rows if r.result == "ok"] == [
        ("device.bind", "user:root"),
        ("device.bind", "user:root"),
        ("device.unbind", "user:root"),
    ]


