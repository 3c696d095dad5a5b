"""Incident rules over HTTP: bad input gets a clear 4xx and changes nothing; tiered command
escalation from district to city; diversion only when asked; reassignment; cancellation; merge;
reopen; the append-only narrative.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import dispatch_builders as b
from tests.support.live import LiveApp


async def _state(engine: AsyncEngine) -> tuple[int, ...]:
    tables = (
        "incidents",
        "incident_calls",
        "incident_narrative",
        "incident_status_history",
        "incident_escalations",
        "dispatch_assignments",
        "dispatch_unit_status_history",
        "events",
    )
    return tuple([await b.count(engine, t) for t in tables])


async def _create(
    http: httpx.AsyncClient, headers: dict[str, str], type_: str, at: tuple[float, float]
) -> dict[str, Any]:
    r = await http.post(
        "/api/v1/incidents", headers=headers, json={"type": type_, "lon": at[0], "lat": at[1]}
    )
    assert r.status_code == 201, r.text
    incident: dict[str, Any] = r.json()["incident"]
    return incident


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"type": "ufo_landing"}, 422, "unknown incident type 'ufo_landing'; known types: "),
        ({"priority": 7}, 422, "priority 7 is outside 1..4"),
        ({"lon": b.ZURICH[0], "lat": b.ZURICH[1]}, 422, "is outside every jurisdiction"),
        ({"lat": 95.0}, 422, "latitude 95.0 is outside -90..90"),
        ({"response_level": "V"}, 422, "response level 'V' is not one of I, II, III, IV"),
        ({"lon": "east"}, 422, "lon: "),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    app: LiveApp, map_engine: AsyncEngine, body: dict[str, Any], status: int, message: str
) -> None:
    people = await b.crew(app.http, map_engine)
    before = await _state(map_engine)
    payload = {"type": "medical", "lon": b.VADUZ_CENTRE[0], "lat": b.VADUZ_CENTRE[1], **body}
    r = await app.http.post("/api/v1/incidents", headers=people.call_taker, json=payload)
    assert r.status_code == status, r.text
    assert message in r.json()["message"]
    assert await _state(map_engine) == before


async def test_roles_and_unknown_things(app: LiveApp, map_engine: AsyncEngine) -> None:
    http = app.http
    people = await b.crew(http, map_engine)
    inc = await _create(http, people.call_taker, "medical", b.VADUZ_CENTRE)
    r = await http.post("/api/v1/incidents", json={"type": "medical", "lon": 9.5, "lat": 47.1})
    assert r.status_code == 401
    r = await http.post(
        "/api/v1/incidents",
        headers=people.leader,
        json={"type": "medical", "lon": b.VADUZ_CENTRE[0], "lat": b.VADUZ_CENTRE[1]},
    )
    assert r.status_code == 403
    r = await http.post(
        f"/api/v1/incidents/{inc['id']}/assignments",
        headers=people.dispatcher,
        json={"unit_ids": ["NOPE-1"]},
    )
    assert r.status_code == 404
    assert r.json()["message"] == "no such unit: NOPE-1"
    assert (await http.get("/api/v1/incidents/999999", headers=people.leader)).status_code == 404
    r = await http.post(
        f"/api/v1/incidents/{inc['id']}/recommendation",
        headers=people.dispatcher,
        json={"requirements": {"dragon": 1}},
    )
    assert r.status_code == 422
    assert "unknown capability 'dragon'" in r.json()["message"]
    r = await http.post(
        f"/api/v1/incidents/{inc['id']}/status",
        headers=people.dispatcher,
        json={"status": "dispatched", "version": inc["version"] + 5},
    )
    assert r.status_code == 409
    assert "changed since you loaded it" in r.json()["message"]


async def test_escalation_from_district_to_city(app: LiveApp, map_engine: AsyncEngine) -> None:
    http = app.http
    people = await b.crew(http, map_engine)
    inc = await _create(http, people.call_taker, "hazmat", b.SCHAAN_CENTRE)
    assert inc["command_level"] == "district"

    def numbers(listing: dict[str, Any]) -> set[str]:
        return {i["number"] for i in listing["incidents"]}

    city = (await http.get("/api/v1/incidents?level=city", headers=people.leader)).json()
    assert inc["number"] not in numbers(city)
    r = await http.post(
        f"/api/v1/incidents/{inc['id']}/escalate",
        headers=people.call_taker,
        json={"to": "city", "reason": "x"},
    )
    assert r.status_code == 403
    r = await http.post(
        f"/api/v1/incidents/{inc['id']}/escalate",
        headers=people.leader,
        json={"to": "city", "reason": "chlorine cloud drifting towards Vaduz"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["incident"]["command_level"] == "city"
    city = (await http.get("/api/v1/incidents?level=city", headers=people.leader)).json()
    district = (await http.get("/api/v1/incidents?level=district", headers=people.leader)).json()
    assert inc["number"] in numbers(city)
    assert inc["number"] not in numbers(district)
    # not downwards by escalation, and a reason is required
    r = await http.post(
        f"/api/v1/incidents/{inc['id']}/escalate",
        headers=people.leader,
        json={"to": "district", "reason": "contained"},
    )
    assert r.status_code == 409
    assert "escalation goes upwards" in r.json()["message"]
    r = await http.post(
        f"/api/v1/incidents/{inc['id']}/response-level",
        headers=people.leader,
        json={"level": "II", "reason": " "},
    )
    assert r.status_code == 422
    r = await http.post(
        f"/api/v1/incidents/{inc['id']}/response-level",
        headers=people.leader,
        json={"level": "Ⅱ级", "reason": "many people exposed"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["incident"]["response_level"] == "II"
    detail = (await http.get(f"/api/v1/incidents/{inc['id']}", headers=people.leader)).json()
    changes = [(c["kind"], c["from_value"], c["to_value"]) for c in detail["level_changes"]]
    assert changes == [("command_level", "district", "city"), ("response_level", "IV", "II")]
    assert detail["level_changes"][0]["actor"] == "user:lead1"
    types = await b.event_types(map_engine, "incident", str(inc["id"]))
    assert types == ["incident.created", "incident.escalated", "incident.response_level_changed"]


async def test_divert_only_when_asked_then_reassign_and_cancel(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    http = app.http
    people = await b.crew(http, map_engine)
    for uid in ("E1", "E2"):
        await b.add_unit(map_engine, uid, "engine", b.VADUZ_CENTRE)
    first = await _create(http, people.call_taker, "fire.vehicle", b.VADUZ_CENTRE)
    second = await _create(http, people.call_taker, "fire.structure", b.BALZERS_CENTRE)
    r = await http.post(
        f"/api/v1/incidents/{first['id']}/assignments",
        headers=people.dispatcher,
        json={"unit_ids": ["E1"]},
    )
    assert r.status_code == 201
    r = await http.post(
        "/api/v1/units/E1/status", headers=people.dispatcher, json={"status": "en_route"}
    )
    assert r.status_code == 200
    before = await _state(map_engine)
    r = await http.post(
        f"/api/v1/incidents/{second['id']}/assignments",
        headers=people.dispatcher,
        json={"unit_ids": ["E2", "E1"]},
    )
    assert r.status_code == 409
    assert "divert it explicitly" in r.json()["message"]
    assert await _state(map_engine) == before  # E2 was not assigned either: all or nothing
    r = await http.post(
        f"/api/v1/incidents/{second['id']}/assignments",
        headers=people.dispatcher,
        json={"unit_ids": ["E2", "E1"], "divert": True},
    )
    assert r.status_code == 201, r.text
    one = (await http.get(f"/api/v1/incidents/{first['id']}", headers=people.leader)).json()
    assert [(a["unit_id"], a["end_reason"]) for a in one["assignments"]] == [("E1", "diverted")]
    assert any("diverted to incident" in n["text"] for n in one["narrative"])
    # its only unit gone before arriving, the first incident waits for a unit again
    assert one["incident"]["status"] == "new"
    assert one["status_history"][-1]["reason"] == "no unit left on the way; send another"
    assert one["incident"]["dispatched_at"] is not None  # the first dispatch stays on record

    # reassign E2 -> E3 on the second incident, in one step
    await b.add_unit(map_engine, "E3", "engine", b.BALZERS_CENTRE)
    r = await http.post(
        f"/api/v1/incidents/{second['id']}/reassign",
        headers=people.dispatcher,
        json={"from_unit": "E2", "to_unit": "E3"},
    )
    assert r.status_code == 200, r.text
    e2 = (await http.get("/api/v1/units/E2", headers=people.dispatcher)).json()
    e3 = (await http.get("/api/v1/units/E3", headers=people.dispatcher)).json()
    assert e2["status"] == "available"
    assert e3["status"] == "dispatched"
    assert e3["incident_number"] == second["number"]

    # cancel E1; cancelling it again is a conflict
    r = await http.post(
        f"/api/v1/incidents/{second['id']}/assignments/E1/cancel",
        headers=people.dispatcher,
        json={"reason": "not needed"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "available"
    r = await http.post(
        f"/api/v1/incidents/{second['id']}/assignments/E1/cancel", headers=people.dispatcher
    )
    assert r.status_code == 409
    two = (await http.get(f"/api/v1/incidents/{second['id']}", headers=people.leader)).json()
    reasons = sorted((a["unit_id"], a["end_reason"]) for a in two["assignments"])
    assert reasons == [("E1", "cancelled"), ("E2", "reassigned"), ("E3", None)]

    # cancelling the incident releases the units still on it
    r = await http.post(
        f"/api/v1/incidents/{second['id']}/status",
        headers=people.dispatcher,
        json={"status": "cancelled", "reason": "false alarm"},
    )
    assert r.status_code == 200, r.text
    e3 = (await http.get("/api/v1/units/E3", headers=people.dispatcher)).json()
    assert e3["status"] == "available"
    assert e3["incident_id"] is None
    # and reopening needs a reason
    r = await http.post(
        f"/api/v1/incidents/{second['id']}/reopen", headers=people.dispatcher, json={"reason": ""}
    )
    assert r.status_code == 422
    r = await http.post(
        f"/api/v1/incidents/{second['id']}/reopen",
        headers=people.dispatcher,
        json={"reason": "caller rang back: flames again"},
    )
    assert r.status_code == 200
    assert r.json()["incident"]["status"] == "new"


async def test_merge_moves_calls_and_units(app: LiveApp, map_engine: AsyncEngine) -> None:
    http = app.http
    people = await b.crew(http, map_engine)
    await b.add_unit(map_engine, "M1", "ambulance_als", b.VADUZ_CENTRE)
    keep = await _create(http, people.call_taker, "traffic_collision", b.VADUZ_CENTRE)
    r = await http.post(
        "/api/v1/incidents",
        headers=people.call_taker,
        json={
            "type": "medical.serious",
            "lon": b.VADUZ_CENTRE[0] + 0.0005,
            "lat": b.VADUZ_CENTRE[1],
            "call_id": "c-9",
        },
    )
    assert r.status_code == 201
    [hint] = r.json()["probable_duplicates"]
    assert hint["number"] == keep["number"]
    dup = r.json()["incident"]
    r = await http.post(
        f"/api/v1/incidents/{dup['id']}/assignments",
        headers=people.dispatcher,
        json={"unit_ids": ["M1"]},
    )
    assert r.status_code == 201
    r = await http.post(
        f"/api/v1/incidents/{keep['id']}/merge",
        headers=people.dispatcher,
        json={"absorbed_id": dup["id"]},
    )
    assert r.status_code == 200, r.text
    merged = r.json()["incident"]
    assert merged["priority"] == 1  # the more serious of both
    assert merged["status"] == "dispatched"  # M1 came along
    assert merged["dispatched_at"] is not None
    detail = (await http.get(f"/api/v1/incidents/{keep['id']}", headers=people.leader)).json()
    assert [c["call_id"] for c in detail["calls"]] == ["c-9"]
    assert [a["unit_id"] for a in detail["assignments"]] == ["M1"]
    gone = (await http.get(f"/api/v1/incidents/{dup['id']}", headers=people.leader)).json()
    assert gone["incident"]["status"] == "cancelled"
    assert gone["incident"]["merged_into"] == keep["id"]
    m1 = (await http.get("/api/v1/units/M1", headers=people.dispatcher)).json()
    assert m1["incident_id"] == keep["id"]
    r = await http.post(
        f"/api/v1/incidents/{dup['id']}/assignments",
        headers=people.dispatcher,
        json={"unit_ids": ["M1"]},
    )
    assert r.status_code == 409
    assert "was merged into" in r.json()["message"]


async def test_narrative_is_append_only(app: LiveApp, map_engine: AsyncEngine) -> None:
    people = await b.crew(app.http, map_engine)
    inc = await _create(app.http, people.call_taker, "crime.theft", b.SCHAAN_CENTRE)
    r = await app.http.post(
        f"/api/v1/incidents/{inc['id']}/narrative",
        headers=people.call_taker,
        json={"text": "suspect left on foot towards the station"},
    )
    assert r.status_code == 201
    r = await app.http.post(
        f"/api/v1/incidents/{inc['id']}/narrative", headers=people.call_taker, json={"text": " "}
    )
    assert r.status_code == 422
    with pytest.raises(DBAPIError, match="append-only"):
        async with map_engine.begin() as conn:
            await conn.execute(text("UPDATE incident_narrative SET text = 'nothing happened'"))
    detail = (await app.http.get(f"/api/v1/incidents/{inc['id']}", headers=people.leader)).json()
    assert [n["text"] for n in detail["narrative"]] == ["suspect left on foot towards the station"]


async def test_create_with_recommendation(app: LiveApp, map_engine: AsyncEngine) -> None:
    people = await b.crew(app.http, map_engine)
    await b.seeded(map_engine)
    r = await app.http.post(
        "/api/v1/incidents",
        headers=people.call_taker,
        json={
            "type": "medical.cardiac_arrest",
            "lon": b.SCHAAN_CENTRE[0],
            "lat": b.SCHAAN_CENTRE[1],
            "recommend": True,
        },
    )
    assert r.status_code == 201, r.text
    rec = r.json()["recommendation"]
    assert rec["source"] == "run_card"
    assert rec["requirements"] == {"ambulance_als": 1, "engine": 1}
    assert rec["complete"]
    covered = {cap for c in rec["chosen"] for cap in c["covers"]}
    assert covered == {"ambulance_als", "engine"}
    r = await app.http.post(
        "/api/v1/incidents",
        headers=people.call_taker,
        json={"type": "medical", "lon": b.ZURICH[0], "lat": b.ZURICH[1], "recommend": True},
    )
    assert r.status_code == 422
    assert await b.count(map_engine, "incidents") == 1
