"""Error answers over HTTP carry the stable code and the params a console words them with."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import builders, dispatch_builders
from tests.support.live import LiveApp


async def test_an_invalid_priority_names_the_allowed_range(
    live: LiveApp, engine: AsyncEngine
) -> None:
    headers = await builders.signed_in(live.http, engine, "ct1", "call_taker")
    r = await live.http.post(
        "/api/v1/incidents",
        headers=headers,
        json={"type": "medical", "lon": 9.52, "lat": 47.14, "priority": 7},
    )
    assert r.status_code == 422, r.text
    assert r.json() == {
        "code": "incident.priority_range",
        "message": "priority 7 is outside 1..4 (1 is the highest)",
        "params": {"priority": 7, "min": 1, "max": 4},
    }
    assert await dispatch_builders.count(engine, "incidents") == 0


async def test_not_found_sign_in_and_validation_answers_have_codes(
    live: LiveApp, engine: AsyncEngine
) -> None:
    r = await live.http.get("/api/v1/units/E9")
    assert (r.status_code, r.json()["code"]) == (401, "auth.required")
    headers = await builders.signed_in(live.http, engine, "disp1", "dispatcher")
    r = await live.http.get("/api/v1/units/E9", headers=headers)
    assert r.status_code == 404, r.text
    assert r.json() == {
        "code": "unit.unknown",
        "message": "unit 'E9' does not exist",
        "params": {"unit_id": "E9"},
    }
    r = await live.http.post("/api/v1/auth/login", json={"username": "disp1", "password": "not it"})
    assert (r.status_code, r.json()["code"], r.json()["params"]) == (
        401,
        "auth.credentials_wrong",
        {},
    )
    call_taker = await builders.signed_in(live.http, engine, "ct1", "call_taker")
    r = await live.http.post(
        "/api/v1/incidents", headers=call_taker, json={"type": "medical", "lon": "east", "lat": 47}
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "request.invalid"
    problems = {p["field"]: p["code"] for p in body["params"]["problems"]}
    assert problems["lon"] == "float_parsing"
