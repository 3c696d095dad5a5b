"""The whole path over HTTP on the Liechtenstein map: call -> incident (with a duplicate hint)
-> recommendation -> assignment -> acknowledgment -> en route -> on scene -> closed, with every
timestamp and event; then the figures and their CSV export.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import dispatch_builders as b
from tests.support.live import LiveApp


def _at(value: str | None) -> datetime:
    assert value is not None
    return datetime.fromisoformat(value)


async def test_call_to_closed_incident(app: LiveApp, map_engine: AsyncEngine) -> None:
    http = app.http
    seeded = await b.seeded(map_engine)
    assert seeded.stations >= 4  # the map's fire stations, plus police and hospitals
    assert seeded.units >= 20
    people = await b.crew(http, map_engine)
    answered = datetime.now(UTC) - timedelta(seconds=40)

    # --- call -> incident
    r = await http.post(
        "/api/v1/incidents",
        headers=people.call_taker,
        json={
            "type": "fire.structure",
            "lon": b.VADUZ_CENTRE[0],
            "lat": b.VADUZ_CENTRE[1],
            "address": "Städtle 1, Vaduz",
            "caller_phone": "+423 000 00 00",
            "summary": "smoke from the roof of a three-storey house",
            "call_id": "call-1",
            "call_answered_at": answered.isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    inc = created["incident"]
    assert created["probable_duplicates"] == []
    assert inc["number"] == f"{datetime.now(UTC).year}-000001"
    assert inc["status"] == "new"
    assert inc["jurisdiction_name"] == "Vaduz"
    # the nearest street and its two nearest crossings, from the map
    street, _, crossing = inc["cross_streets"].partition(" (")
    assert street
    assert crossing.endswith(")")
    assert len(crossing.split(" / ")) == 2
    assert inc["priority"] == 1  # the type's default
    assert inc["command_level"] == "district"
    assert inc["type_names"]["zh-CN"] == "建筑火灾"
    assert _at(inc["call_answered_at"]) == answered
    iid = inc["id"]

    # --- a second call about the same fire: the hint, then the link instead of a duplicate
    near = (b.VADUZ_CENTRE[0] + 0.001, b.VADUZ_CENTRE[1])
    r = await http.post(
        "/api/v1/incidents/duplicates",
        headers=people.call_taker,
        json={"type": "fire.vehicle", "lon": near[0], "lat": near[1]},
    )
    [hint] = r.json()["probable_duplicates"]
    assert hint["number"] == inc["number"]
    assert 60 < hint["distance_m"] < 90
    r = await http.post(
        f"/api/v1/incidents/{iid}/calls",
        headers=people.call_taker,
        json={"call_id": "call-2", "answered_at": datetime.now(UTC).isoformat()},
    )
    assert r.status_code == 200, r.text
    assert _at(r.json()["incident"]["call_answered_at"]) == answered  # the earliest call

    # --- recommendation from the run card
    r = await http.post(f"/api/v1/incidents/{iid}/recommendation", headers=people.dispatcher)
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["source"] == "run_card"
    assert rec["requirements"] == {
        "engine": 2,
        "ladder": 1,
        "ambulance_bls": 1,
        "command_vehicle": 1,
    }
    assert rec["complete"], rec["uncovered"]
    chosen = [c["unit_id"] for c in rec["chosen"]]
    times = [c["drive_time_s"] for c in rec["chosen"]]
    assert times == sorted(times)
    assert all(0 < t < 1800 for t in times)
    reasons = {r_["code"] for r_ in rec["not_chosen"]}
    assert "slower" in reasons  # more engines than needed on the map
    # the chosen engines are the two fastest of all engines that could go
    engines = sorted(
        [(c["drive_time_s"], c["unit_id"]) for c in rec["chosen"] if "engine" in c["covers"]]
        + [
            (n["drive_time_s"], n["unit_id"])
            for n in rec["not_chosen"]
            if n["code"] == "slower" and n["detail"]["capability"] == "engine"
        ]
    )
    assert {u for _, u in engines[:2]} <= set(chosen)

    # --- a call-taker may not assign; a dispatcher assigns all chosen units in one action
    r = await http.post(
        f"/api/v1/incidents/{iid}/assignments",
        headers=people.call_taker,
        json={"unit_ids": chosen},
    )
    assert r.status_code == 403
    r = await http.post(
        f"/api/v1/incidents/{iid}/assignments",
        headers=people.dispatcher,
        json={"unit_ids": chosen},
    )
    assert r.status_code == 201, r.text
    assert r.json()["incident"]["status"] == "dispatched"
    assert r.json()["incident"]["dispatched_at"] is not None
    assert len(r.json()["assignments"]) == len(chosen)

    # --- the board: everybody dispatched, nobody overdue yet; 61 s later, not acknowledged
    board = (await http.get("/api/v1/units/board", headers=people.dispatcher)).json()
    assert board["counts"]["dispatched"] == len(chosen)
    assert board["alerts"] == []
    first = chosen[0]
    first_terminal = await b.terminal(map_engine, first)
    other_terminal = await b.terminal(map_engine, chosen[1])
    r = await http.get(f"/api/v1/units/{first}/assignment", headers=first_terminal)
    assert r.status_code == 200, r.text
    told = r.json()
    assert told["incident"]["number"] == inc["number"]
    assert told["incident"]["address"] == "Städtle 1, Vaduz"
    assert told["assignment"]["acknowledged_at"] is None
    assert (
        await http.get(f"/api/v1/units/{first}/assignment", headers=other_terminal)
    ).status_code == 403
    r = await http.post(f"/api/v1/units/{first}/acknowledge", headers=other_terminal)
    assert r.status_code == 403
    assert "its own unit" in r.json()["message"]
    r = await http.post(f"/api/v1/units/{first}/acknowledge", headers=first_terminal)
    assert r.status_code == 200, r.text
    app.advance(timedelta(seconds=61))
    board = (await http.get("/api/v1/units/board", headers=people.dispatcher)).json()
    overdue = {a["unit_id"]: a["code"] for a in board["alerts"]}
    assert set(overdue) == set(chosen[1:])
    assert set(overdue.values()) == {"not_acknowledged"}
    assert board["alerts"][0]["incident_number"] == inc["number"]

    # --- en route, on scene (the terminal of the first unit; the dispatcher for the rest)
    r = await http.post(
        f"/api/v1/units/{first}/status", headers=first_terminal, json={"status": "en_route"}
    )
    assert r.status_code == 200, r.text
    app.advance(timedelta(seconds=180))
    r = await http.post(
        f"/api/v1/units/{first}/status", headers=first_terminal, json={"status": "on_scene"}
    )
    assert r.status_code == 200, r.text
    # a forbidden transition: 409 naming both statuses, nothing changed
    r = await http.post(
        f"/api/v1/units/{first}/status", headers=first_terminal, json={"status": "en_route"}
    )
    assert r.status_code == 409
    assert "cannot go from on_scene to en_route" in r.json()["message"]
    for unit_id in chosen[1:]:
        for status in ("en_route", "on_scene"):
            r = await http.post(
                f"/api/v1/units/{unit_id}/status",
                headers=people.dispatcher,
                json={"status": status},
            )
            assert r.status_code == 200, r.text

    # --- closing needs the units cleared first
    r = await http.post(
        f"/api/v1/incidents/{iid}/status", headers=people.dispatcher, json={"status": "closed"}
    )
    assert r.status_code == 409
    assert "still has units assigned" in r.json()["message"]
    r = await http.post(
        f"/api/v1/incidents/{iid}/status",
        headers=people.dispatcher,
        json={"status": "under_control", "reason": "fire knocked down"},
    )
    assert r.status_code == 200, r.text
    for unit_id in chosen:
        r = await http.post(
            f"/api/v1/units/{unit_id}/status",
            headers=people.dispatcher,
            json={"status": "returning"},
        )
        assert r.status_code == 200, r.text
    r = await http.post(
        f"/api/v1/incidents/{iid}/status", headers=people.dispatcher, json={"status": "closed"}
    )
    assert r.status_code == 200, r.text

    # --- every timestamp
    detail = (await http.get(f"/api/v1/incidents/{iid}", headers=people.leader)).json()
    final = detail["incident"]
    stamps = [
        _at(final[k])
        for k in (
            "call_answered_at",
            "created_at",
            "dispatched_at",
            "en_route_at",
            "on_scene_at",
            "under_control_at",
            "closed_at",
        )
    ]
    assert stamps == sorted(stamps)
    assert _at(final["on_scene_at"]) - _at(final["en_route_at"]) >= timedelta(seconds=180)
    assert [h["to_status"] for h in detail["status_history"]] == [
        "new",
        "dispatched",
        "en_route",
        "on_scene",
        "under_control",
        "closed",
    ]
    assert {c["call_id"] for c in detail["calls"]} == {"call-1", "call-2"}
    first_assignment = next(a for a in detail["assignments"] if a["unit_id"] == first)
    for key in ("assigned_at", "acknowledged_at", "en_route_at", "on_scene_at", "ended_at"):
        assert first_assignment[key] is not None, key
    assert {a["end_reason"] for a in detail["assignments"]} == {"cleared"}
    texts = [n["text"] for n in detail["narrative"]]
    assert texts[0] == "smoke from the roof of a three-storey house"
    assert any(t.startswith("assigned ") for t in texts)

    # --- every event
    types = await b.event_types(map_engine, "incident", str(iid))
    assert types[:2] == ["incident.created", "incident.call_linked"]
    assert types.count("incident.unit_assigned") == len(chosen)
    assert types.count("incident.status_changed") == 5
    assert types.count("assignment.ended") == len(chosen)
    unit_events = await b.event_types(map_engine, "unit", first)
    assert unit_events == [
        "unit.status_changed",  # dispatched
        "unit.acknowledged",
        "unit.status_changed",  # en route
        "unit.status_changed",  # on scene
        "unit.status_changed",  # returning
    ]

    r = await http.get(f"/api/v1/units/{first}/assignment", headers=first_terminal)
    assert r.json() == {"assignment": None, "unit_status": None, "incident": None}

    # --- a closed incident is not assigned again; nothing changes
    before = (await http.get(f"/api/v1/units/{first}", headers=people.dispatcher)).json()
    r = await http.post(
        f"/api/v1/incidents/{iid}/assignments",
        headers=people.dispatcher,
        json={"unit_ids": [first]},
    )
    assert r.status_code == 409
    assert "is closed; reopen it" in r.json()["message"]
    after = (await http.get(f"/api/v1/units/{first}", headers=people.dispatcher)).json()
    assert after == before

    # --- the figures and the CSV
    r = await http.get(
        "/api/v1/incidents/response-times",
        headers=people.leader,
        params={"group_by": ["category", "jurisdiction"]},
    )
    assert r.status_code == 200, r.text
    [group] = r.json()["groups"]
    assert group["key"] == {"period": "all", "category": "fire", "jurisdiction": "Vaduz"}
    intervals: dict[str, Any] = group["intervals"]
    assert intervals["travel"]["count"] == 1
    assert intervals["travel"]["p90_s"] >= 180
    targets = {t["name"]: t for t in group["targets"]}
    for type_filter, groups in (("fire", 1), ("fire.structure", 1), ("fir", 0), ("medical", 0)):
        r = await http.get(
            "/api/v1/incidents/response-times", headers=people.leader, params={"type": type_filter}
        )
        assert len(r.json()["groups"]) == groups, type_filter
    first_engine = targets["NFPA 1710 first engine travel"]
    assert (first_engine["count"], first_engine["met"]) == (1, 1)
    assert intervals["engine_travel"]["count"] == 1
    assert (
        await http.get("/api/v1/incidents/response-times", headers=people.dispatcher)
    ).status_code == 403
    r = await http.get("/api/v1/incidents/response-times.csv", headers=people.leader)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(r.text)))
    assert row["number"] == inc["number"]
    assert float(row["call_processing_s"]) > 0
