"""Tiered command over HTTP: users carry a command level; an incident escalated to city is
directed from city level only, while everyone who reads still reads it.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.live import LiveApp


async def _state(engine: AsyncEngine) -> tuple[int, ...]:
    tables = (
        "incidents",
        "incident_narrative",
        "incident_status_history",
        "incident_escalations",
        "dispatch_assignments",
        "dispatch_unit_status_history",
        "events",
    )
    return tuple([await b.count(engine, t) for t in tables])


async def _incident_row(engine: AsyncEngine, incident_id: int) -> tuple[Any, ...]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT status, priority, command_level, version FROM incidents WHERE id = :i"
                ),
                {"i": incident_id},
            )
        ).one()
    return tuple(row)


async def _user_at(
    http: httpx.AsyncClient, admin: dict[str, str], username: str, roles: list[str], level: str
) -> dict[str, str]:
    r = await http.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": username,
            "password": builders.PASSWORD,
            "roles": roles,
            "command_level": level,
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["command_level"] == level
    r = await http.post(
        "/api/v1/auth/login", json={"username": username, "password": builders.PASSWORD}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def test_users_get_a_command_level_and_an_unknown_one_is_refused(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    http = app.http
    admin = await builders.signed_in(http, map_engine, "admin1", "admin")
    before = await b.count(map_engine, "users")
    r = await http.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": "galactic",
            "password": builders.PASSWORD,
            "roles": ["dispatcher"],
            "command_level": "galaxy",
        },
    )
    assert r.status_code == 422
    assert "command_level" in r.json()["message"]
    assert await b.count(map_engine, "users") == before
    await _user_at(http, admin, "dd1", ["dispatcher"], "district")
    listed = {u["username"]: u for u in (await http.get("/api/v1/users", headers=admin)).json()}
    assert listed["dd1"]["command_level"] == "district"
    assert listed["admin1"]["command_level"] is None  # the top level


async def test_after_escalation_to_city_only_city_level_directs(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    http = app.http
    people = await b.crew(http, map_engine)
    admin = await builders.signed_in(http, map_engine, "admin1", "admin")
    district = await _user_at(http, admin, "dd1", ["dispatcher"], "district")
    city = await _user_at(http, admin, "cd1", ["dispatcher"], "city")
    for uid in ("E1", "E2", "E3"):
        await b.add_unit(map_engine, uid, "engine", b.SCHAAN_CENTRE)
    r = await http.post(
        "/api/v1/incidents",
        headers=people.call_taker,
        json={"type": "hazmat", "lon": b.SCHAAN_CENTRE[0], "lat": b.SCHAAN_CENTRE[1]},
    )
    assert r.status_code == 201, r.text
    inc = r.json()["incident"]
    assert inc["command_level"] == "district"
    other = (
        await http.post(
            "/api/v1/incidents",
            headers=people.call_taker,
            json={"type": "hazmat", "lon": b.VADUZ_CENTRE[0], "lat": b.VADUZ_CENTRE[1]},
        )
    ).json()["incident"]
    base = f"/api/v1/incidents/{inc['id']}"

    # the district dispatcher directs the district incident, and escalates it to city
    r = await http.post(f"{base}/assignments", headers=district, json={"unit_ids": ["E1"]})
    assert r.status_code == 201, r.text
    r = await http.post(
        f"{base}/escalate", headers=district, json={"to": "city", "reason": "chlorine cloud"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["incident"]["command_level"] == "city"

    # now the city directs it: every directing action of the district dispatcher is refused
    before, row = await _state(map_engine), await _incident_row(map_engine, inc["id"])
    message = f"incident {inc['number']} is directed at city level; you act at district level"
    refused: list[tuple[str, dict[str, Any] | None]] = [
        (f"{base}/assignments", {"unit_ids": ["E2"]}),
        (f"{base}/reassign", {"from_unit": "E1", "to_unit": "E2"}),
        (f"{base}/assignments/E1/cancel", None),
        (f"{base}/status", {"status": "under_control"}),
        (f"{base}/priority", {"priority": 1}),
        (f"{base}/response-level", {"level": "II", "reason": "many exposed"}),
        (f"/api/v1/incidents/{other['id']}/merge", {"absorbed_id": inc["id"]}),
    ]
    for path, body in refused:
        r = await http.post(path, headers=district, json=body)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["message"] == message, path
    assert await _state(map_engine) == before
    assert await _incident_row(map_engine, inc["id"]) == row
    e2 = (await http.get("/api/v1/units/E2", headers=district)).json()
    assert e2["status"] == "available"

    # reading stays open to the district dispatcher
    r = await http.get(base, headers=district)
    assert r.status_code == 200
    assert [a["unit_id"] for a in r.json()["assignments"]] == ["E1"]

    # the city dispatcher, and a dispatcher without a level (the top level), direct it
    r = await http.post(f"{base}/assignments", headers=city, json={"unit_ids": ["E2"]})
    assert r.status_code == 201, r.text
    assert [a["unit_id"] for a in r.json()["assignments"]] == ["E2"]
    r = await http.post(f"{base}/assignments", headers=people.dispatcher, json={"unit_ids": ["E3"]})
    assert r.status_code == 201, r.text
    detail = (await http.get(base, headers=people.leader)).json()
    assert sorted(a["unit_id"] for a in detail["assignments"]) == ["E1", "E2", "E3"]
