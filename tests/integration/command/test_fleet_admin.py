"""Stations, units and run cards administered over real HTTP: supervisors and administrators
change them, each change audited and evented; bad input, a stale version, a unit at work and a
role without the right are refused with their codes and change nothing; the recommendation
follows a run card changed at run time, and the default once the change is removed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.live import LiveApp

VADUZ = {"lon": b.VADUZ_CENTRE[0], "lat": b.VADUZ_CENTRE[1]}


def _refused(r: Any, status: int, code: str) -> dict[str, Any]:
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    body: dict[str, Any] = r.json()
    return body


async def _audited(engine: AsyncEngine, object_type: str) -> list[tuple[str, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT action, actor, object_id FROM audit_log WHERE object_type = :t "
                "AND result = 'ok' ORDER BY id"
            ),
            {"t": object_type},
        )
        return [(r.action, r.actor, r.object_id) for r in rows]


async def _stations(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT id, name, names, region, ST_X(geom), ST_Y(geom) FROM dispatch_stations "
                "ORDER BY id"
            )
        )
        return [tuple(r) for r in rows]


async def _units(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT id, callsign, unit_type, capabilities, crew, station_id, status, version "
                "FROM dispatch_units ORDER BY id"
            )
        )
        return [tuple(r) for r in rows]


async def test_stations_are_created_and_changed_by_supervisors(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    http = app.http
    crew = await b.crew(http, map_engine)
    admin = await builders.signed_in(http, map_engine, "root", "admin")
    body = {"id": "FS9", "name": "瓦杜兹消防站", "names": {"en": "Vaduz fire station"}, **VADUZ}
    r = await http.post("/api/v1/stations", headers=crew.supervisor, json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["region"] == b.REGION
    assert made["names"] == {"en": "Vaduz fire station"}
    assert made["position"] == {"lon": VADUZ["lon"], "lat": VADUZ["lat"]}

    listed = (await http.get("/api/v1/stations", headers=crew.dispatcher)).json()
    assert listed["region"] == b.REGION
    assert [s["id"] for s in listed["stations"]] == ["FS9"]
    other = await http.get("/api/v1/stations", params={"region": "elsewhere"}, headers=admin)
    assert other.json()["stations"] == []

    r = await http.patch(
        "/api/v1/stations/FS9",
        headers=admin,
        json={"name": "Vaduz", "lon": b.SCHAAN_CENTRE[0], "lat": b.SCHAAN_CENTRE[1]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Vaduz"
    assert r.json()["position"] == {"lon": b.SCHAAN_CENTRE[0], "lat": b.SCHAAN_CENTRE[1]}
    assert r.json()["names"] == {"en": "Vaduz fire station"}

    # Bad input: each refused with its code, nothing written.
    before = await _stations(map_engine)
    bad = [
        ({**body, "id": "FS10", "region": "atlantis"}, 422, "station.region_unknown"),
        ({**body, "id": "FS10", "lon": 200.0}, 422, "point.lon_range"),
        ({**body, "id": "FS10", "lat": -91.0}, 422, "point.lat_range"),
        ({**body, "id": "FS10", "lon": b.ZURICH[0], "lat": b.ZURICH[1]}, 422,
         "station.outside_region"),
        ({**body, "id": "FS 10"}, 422, "request.invalid"),
        ({**body, "id": "FS10", "names": {"fr": "caserne"}}, 422, "request.invalid"),
        (body, 409, "station.exists"),
    ]
    for sent, status, code in bad:
        _refused(await http.post("/api/v1/stations", headers=crew.supervisor, json=sent),
                 status, code)
    _refused(await http.patch("/api/v1/stations/FS9", headers=admin, json={"lon": 9.5}),
             422, "station.position_half")
    _refused(await http.patch("/api/v1/stations/FS9", headers=admin,
                              json={"lon": b.ZURICH[0], "lat": b.ZURICH[1]}),
             422, "station.outside_region")
    _refused(await http.patch("/api/v1/stations/NOPE", headers=admin, json={"name": "x"}),
             404, "station.unknown")
    # Roles: a dispatcher reads but does not change; a call-taker does not read.
    r = await http.post("/api/v1/stations", headers=crew.dispatcher, json={**body, "id": "FS11"})
    assert _refused(r, 403, "auth.role_required")["params"]["needs"] == ["admin", "supervisor"]
    _refused(await http.patch("/api/v1/stations/FS9", headers=crew.leader, json={"name": "x"}),
             403, "auth.role_required")
    _refused(await http.get("/api/v1/stations", headers=crew.call_taker),
             403, "auth.role_required")
    assert await _stations(map_engine) == before

    assert await _audited(map_engine, "station") == [
        ("station.create", "user:sup1", "FS9"),
        ("station.change", "user:root", "FS9"),
    ]
    assert await b.event_types(map_engine, "station", "FS9") == [
        "station.created", "station.changed"
    ]


async def test_units_are_created_changed_and_taken_out_of_service(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    http = app.http
    crew = await b.crew(http, map_engine)
    sup = crew.supervisor
    for sid, point in (("FS1", b.VADUZ_CENTRE), ("FS2", b.SCHAAN_CENTRE)):
        r = await http.post("/api/v1/stations", headers=sup,
                            json={"id": sid, "name": sid, "lon": point[0], "lat": point[1]})
        assert r.status_code == 201, r.text
    types = (await http.get("/api/v1/unit-types", headers=crew.dispatcher)).json()
    assert {"code": "quint", "names": {"zh-CN": "多功能消防车", "en": "Quint"},
            "capabilities": ["engine", "ladder"], "default_crew": 4} in types["types"]
    assert "heavy_rescue" in types["capabilities"]

    r = await http.post("/api/v1/units", headers=sup,
                        json={"id": "E9", "unit_type": "quint", "station_id": "FS1"})
    assert r.status_code == 201, r.text
    e9 = r.json()
    assert (e9["callsign"], e9["capabilities"], e9["crew"], e9["status"], e9["version"]) == (
        "E9", ["engine", "ladder"], 4, "available", 1
    )
    assert e9["station_position"] == {"lon": b.VADUZ_CENTRE[0], "lat": b.VADUZ_CENTRE[1]}
    r = await http.post("/api/v1/units", headers=sup, json={
        "id": "A9", "callsign": "Ambulance 9", "unit_type": "ambulance_bls",
        "capabilities": ["ambulance_bls", "public_health"], "crew": 3})
    assert r.status_code == 201, r.text
    assert r.json()["capabilities"] == ["ambulance_bls", "public_health"]
    assert r.json()["station_id"] is None

    # Bad input and duplicates change nothing.
    before = await _units(map_engine)
    new = {"id": "X1", "unit_type": "engine"}
    for sent, status, code in [
        ({**new, "unit_type": "dragon"}, 422, "unit_type.unknown"),
        ({**new, "capabilities": ["laser"]}, 422, "capability.unknown"),
        ({**new, "capabilities": []}, 422, "unit.capabilities_empty"),
        ({**new, "station_id": "NOPE"}, 404, "station.unknown"),
        ({**new, "crew": -1}, 422, "request.invalid"),
        ({**new, "id": "E9"}, 409, "unit.exists"),
        ({**new, "callsign": "Ambulance 9"}, 409, "unit.exists"),
    ]:
        _refused(await http.post("/api/v1/units", headers=sup, json=sent), status, code)
    _refused(await http.post("/api/v1/units", headers=crew.dispatcher, json=new),
             403, "auth.role_required")
    assert await _units(map_engine) == before

    # A change names the version it was made on.
    r = await http.patch("/api/v1/units/E9", headers=sup,
                         json={"version": 1, "unit_type": "engine", "station_id": "FS2"})
    assert r.status_code == 200, r.text
    e9 = r.json()
    assert (e9["unit_type"], e9["capabilities"], e9["station_id"], e9["version"]) == (
        "engine", ["engine"], "FS2", 2
    )
    stale = _refused(await http.patch("/api/v1/units/E9", headers=sup,
                                      json={"version": 1, "crew": 2}),
                     409, "unit.changed_meanwhile")
    assert stale["params"]["unit_id"] == "E9"
    _refused(await http.patch("/api/v1/units/E9", headers=sup,
                              json={"version": 2, "station_id": "NOPE"}), 404, "station.unknown")
    _refused(await http.patch("/api/v1/units/NOPE", headers=sup, json={"version": 1}),
             404, "unit.unknown")
    _refused(await http.patch("/api/v1/units/E9", headers=crew.leader, json={"version": 2}),
             403, "auth.role_required")
    r = await http.patch("/api/v1/units/E9", headers=sup, json={"version": 2, "station_id": None})
    assert (r.json()["station_id"], r.json()["version"]) == (None, 3)

    # Out of service and back, through the status machine.
    r = await http.post("/api/v1/units/A9/service", headers=sup,
                        json={"in_service": False, "version": 1, "reason": "tyres"})
    assert (r.status_code, r.json()["status"]) == (200, "out_of_service"), r.text
    _refused(await http.post("/api/v1/units/A9/service", headers=sup,
                             json={"in_service": False, "version": 2}),
             409, "unit.status_already")
    r = await http.post("/api/v1/units/A9/service", headers=sup,
                        json={"in_service": True, "version": 2})
    assert (r.json()["status"], r.json()["version"]) == ("available", 3)
    async with map_engine.connect() as conn:
        history = (await conn.execute(text(
            "SELECT from_status, to_status, actor, reason FROM dispatch_unit_status_history "
            "WHERE unit_id = 'A9' ORDER BY id"))).all()
    assert [tuple(h) for h in history] == [
        ("available", "out_of_service", "user:sup1", "tyres"),
        ("out_of_service", "available", "user:sup1", ""),
    ]

    # A unit at work keeps what it was sent for; its home station may change.
    inc = await b.fire(http, crew)
    r = await http.post(f"/api/v1/incidents/{inc['id']}/assignments", headers=crew.dispatcher,
                        json={"unit_ids": ["E9"]})
    assert r.status_code in (200, 201), r.text
    version = (await http.get("/api/v1/units/E9", headers=sup)).json()["version"]
    before = await _units(map_engine)
    at_work = _refused(await http.patch("/api/v1/units/E9", headers=sup,
                                        json={"version": version, "capabilities": ["ladder"]}),
                       409, "unit.on_assignment")
    assert at_work["params"] == {"unit_id": "E9", "callsign": "E9", "status": "dispatched",
                                 "incident_id": inc["id"]}
    _refused(await http.post("/api/v1/units/E9/service", headers=sup,
                             json={"in_service": False, "version": version}),
             409, "unit.on_assignment")
    _refused(await http.post("/api/v1/units/E9/service", headers=sup,
                             json={"in_service": True, "version": version}),
             409, "unit.on_assignment")
    assert await _units(map_engine) == before
    r = await http.patch("/api/v1/units/E9", headers=sup,
                         json={"version": version, "station_id": "FS1"})
    assert (r.status_code, r.json()["status"], r.json()["station_id"]) == (
        200, "dispatched", "FS1"
    )

    assert await _audited(map_engine, "unit") == [
        ("unit.create", "user:sup1", "E9"),
        ("unit.create", "user:sup1", "A9"),
        ("unit.change", "user:sup1", "E9"),
        ("unit.change", "user:sup1", "E9"),
        ("unit.out_of_service", "user:sup1", "A9"),
        ("unit.in_service", "user:sup1", "A9"),
        ("unit.change", "user:sup1", "E9"),
    ]
    assert await b.event_types(map_engine, "unit", "A9") == [
        "unit.created", "unit.status_changed", "unit.status_changed"
    ]


async def _recommended(http: Any, incident_id: int, headers: dict[str, str]) -> dict[str, int]:
    r = await http.post(f"/api/v1/incidents/{incident_id}/recommendation", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "run_card"
    requirements: dict[str, int] = r.json()["requirements"]
    return requirements


async def test_the_recommendation_follows_a_run_card_changed_at_run_time(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    http = app.http
    await b.seeded(map_engine)
    crew = await b.crew(http, map_engine)
    admin = await builders.signed_in(http, map_engine, "root", "admin")
    default = {"engine": 2, "ladder": 1, "ambulance_bls": 1, "command_vehicle": 1}

    cards = {c["type"]: c for c in (await http.get("/api/v1/run-cards",
                                                   headers=crew.leader)).json()["cards"]}
    assert cards["fire.structure"]["requirements"] == default
    assert cards["fire.structure"]["default"] == default
    assert not cards["fire.structure"]["overridden"]
    assert cards["crime.theft"]["from_type"] == "crime"  # no card of its own: its parent's
    assert cards["crime.theft"]["requirements"] == {"police_patrol": 2}
    inc = await b.fire(http, crew)
    assert await _recommended(http, inc["id"], crew.dispatcher) == default

    r = await http.put("/api/v1/run-cards/fire.structure", headers=crew.supervisor,
                       json={"requirements": {"engine": 3, "heavy_rescue": 1, "ladder": 0}})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "type": "fire.structure",
        "names": cards["fire.structure"]["names"],
        "requirements": {"engine": 3, "heavy_rescue": 1},
        "default": default,
        "overridden": True,
        "from_type": "fire.structure",
    }
    # The next recommendation, and a new incident's, follow the stored card.
    assert await _recommended(http, inc["id"], crew.dispatcher) == {"engine": 3, "heavy_rescue": 1}
    r = await http.post("/api/v1/incidents", headers=crew.call_taker, json={
        "type": "fire.structure", "lon": b.SCHAAN_CENTRE[0], "lat": b.SCHAAN_CENTRE[1],
        "recommend": True})
    assert r.status_code == 201, r.text
    assert r.json()["recommendation"]["requirements"] == {"engine": 3, "heavy_rescue": 1}
    # ... and so does the desk's list of incident types
    types = (await http.get("/api/v1/incidents/types", headers=crew.call_taker)).json()["types"]
    assert next(t for t in types if t["code"] == "fire.structure")["run_card"] == {
        "engine": 3, "heavy_rescue": 1}
    # A parent's card serves its children without their own.
    r = await http.put("/api/v1/run-cards/crime", headers=admin,
                       json={"requirements": {"police_patrol": 1}})
    assert r.status_code == 200, r.text
    cards = {c["type"]: c for c in (await http.get("/api/v1/run-cards",
                                                   headers=admin)).json()["cards"]}
    assert cards["crime.theft"]["requirements"] == {"police_patrol": 1}
    assert not cards["crime.theft"]["overridden"]

    # Bad input, unknown types and the wrong role change nothing.
    before = await b.count(map_engine, "dispatch_run_cards")
    for path, sent, status, code in [
        ("fire.structure", {"requirements": {"dragon": 1}}, 422, "capability.unknown"),
        ("fire.structure", {"requirements": {"engine": 0}}, 422, "run_card.empty"),
        ("fire.structure", {"requirements": {"engine": -1}}, 422, "request.invalid"),
        ("fire.structure", {"requirements": {"engine": "two"}}, 422, "request.invalid"),
        ("ufo", {"requirements": {"engine": 1}}, 422, "run_card.type_unknown"),
    ]:
        _refused(await http.put(f"/api/v1/run-cards/{path}", headers=crew.supervisor, json=sent),
                 status, code)
    _refused(await http.put("/api/v1/run-cards/fire.structure", headers=crew.dispatcher,
                            json={"requirements": {"engine": 9}}), 403, "auth.role_required")
    _refused(await http.delete("/api/v1/run-cards/fire.structure", headers=crew.dispatcher),
             403, "auth.role_required")
    _refused(await http.delete("/api/v1/run-cards/medical", headers=crew.supervisor),
             404, "run_card.not_overridden")
    _refused(await http.delete("/api/v1/run-cards/ufo", headers=crew.supervisor),
             422, "run_card.type_unknown")
    assert await b.count(map_engine, "dispatch_run_cards") == before
    assert await _recommended(http, inc["id"], crew.dispatcher) == {"engine": 3, "heavy_rescue": 1}

    # Removing the change brings the default back.
    r = await http.delete("/api/v1/run-cards/fire.structure", headers=crew.supervisor)
    assert (r.status_code, r.json()["overridden"], r.json()["requirements"]) == (
        200, False, default
    )
    assert await _recommended(http, inc["id"], crew.dispatcher) == default

    assert await _audited(map_engine, "run_card") == [
        ("run_card.put", "user:sup1", "fire.structure"),
        ("run_card.put", "user:root", "crime"),
        ("run_card.reset", "user:sup1", "fire.structure"),
    ]
    assert await b.event_types(map_engine, "run_card", "fire.structure") == [
        "run_card.changed", "run_card.reset"
    ]
