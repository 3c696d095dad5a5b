"""Plans at work on a running app: ranked matches with explanations, a narrative that adds
"trapped" re-ranking them with the console told, the level raised by casualties, lowering only
by a leader with a reason, activation into tasks with deadlines and an evacuation area, the
second alarm's units in the recommendation, and one alert per overdue task."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command.planning.task_timers import raise_overdue
from tests.support import dispatch_builders as b
from tests.support.dispatch_builders import Crew
from tests.support.live import LiveApp
from tests.support.plan_builders import COLLISION_YAML

MAIN_ROAD = "collision_main_road"
GENERAL_YAML = """\
key: collision_general
names: {zh-CN: 一般交通事故预案, en: Traffic collision}
category: {zh-CN: 交通事故, en: Traffic}
conditions:
  incident_types: [traffic_collision]
  priority: {min: 1, max: 4}
stages:
  - resources: {police_patrol: 1}
"""


async def _approved(http: httpx.AsyncClient, crew: Crew, *plans: str) -> None:
    for plan in plans:
        r = await http.post("/api/v1/plans", json={"yaml": plan}, headers=crew.supervisor)
        assert r.status_code == 201, r.text
        key, version = r.json()["key"], r.json()["version"]
        base = f"/api/v1/plans/{key}/versions/{version}"
        assert (await http.post(f"{base}/submit", headers=crew.supervisor)).status_code == 200
        r = await http.post(f"{base}/approve", headers=crew.leader)
        assert r.json()["status"] == "approved", r.text


async def _incident(http: httpx.AsyncClient, crew: Crew, summary: str) -> dict[str, Any]:
    lon, lat = b.VADUZ_CENTRE
    r = await http.post(
        "/api/v1/incidents",
        json={"type": "traffic_collision", "lon": lon, "lat": lat, "summary": summary},
        headers=crew.call_taker,
    )
    assert r.status_code == 201, r.text
    incident: dict[str, Any] = r.json()["incident"]
    return incident


async def _wait_for_event(engine: AsyncEngine, incident_id: int, kind: str) -> dict[str, Any]:
    for _ in range(300):
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT data FROM events WHERE subject_type = 'incident' "
                        "AND subject_id = :i AND type = :t ORDER BY id DESC LIMIT 1"
                    ),
                    {"i": str(incident_id), "t": kind},
                )
            ).first()
        if row is not None:
            return dict(row.data)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} event for incident {incident_id}")


async def _ranking(http: httpx.AsyncClient, crew: Crew, incident_id: int) -> dict[str, Any]:
    r = await http.get(f"/api/v1/incidents/{incident_id}/plans", headers=crew.dispatcher)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_matches_are_ranked_explained_and_rerun_when_the_narrative_changes(
    app: LiveApp, map_url: str
) -> None:
    engine = create_async_engine(map_url)
    try:
        crew = await b.crew(app.http, engine)
        await _approved(app.http, crew, COLLISION_YAML, GENERAL_YAML)
        inc = await _incident(app.http, crew, "two cars collided on the Landstrasse")
        matched = await _wait_for_event(engine, inc["id"], "plan.matched")
        assert matched["key"] in {MAIN_ROAD, "collision_general"}

        before = await _ranking(app.http, crew, inc["id"])
        assert [m["key"] for m in before["matches"]] == ["collision_general", MAIN_ROAD]
        main = before["matches"][1]
        words = next(c for c in main["conditions"] if c["kind"] == "words")
        assert words["held"] is False
        assert words["required"] is False
        assert words["expected"] == ["trapped", "pile-up", "被困"]
        priority = next(c for c in main["conditions"] if c["kind"] == "priority")
        assert (priority["held"], priority["expected"], priority["actual"]) == (True, "1..3", 2)

        token = crew.dispatcher["Authorization"].removeprefix("Bearer ")
        url = f"{app.ws_url}/api/v1/events/ws?token={token}&after={app.container.hub.last_seq}"
        async with websockets.connect(url) as console:
            r = await app.http.post(
                f"/api/v1/incidents/{inc['id']}/narrative",
                json={"text": "the driver is trapped in the car"},
                headers=crew.dispatcher,
            )
            assert r.status_code == 201, r.text
            while True:
                event = json.loads(await asyncio.wait_for(console.recv(), 30))
                if event["type"] == "plan.reranked":
                    break
        assert event["subject_id"] == str(inc["id"])
        assert [p["key"] for p in event["data"]["ranking"]] == [MAIN_ROAD, "collision_general"]

        after = await _ranking(app.http, crew, inc["id"])
        assert [m["key"] for m in after["matches"]] == [MAIN_ROAD, "collision_general"]
        words = next(c for c in after["matches"][0]["conditions"] if c["kind"] == "words")
        assert (words["held"], words["actual"]) == (True, ["trapped"])

        # a retired plan no longer applies, and the incident's consoles are told
        r = await app.http.post(
            "/api/v1/plans/collision_general/versions/1/retire", headers=crew.leader
        )
        assert r.json()["status"] == "retired", r.text
        gone = await _wait_for_event(engine, inc["id"], "plan.unmatched")
        assert gone["key"] == "collision_general"
        after = await _ranking(app.http, crew, inc["id"])
        assert [m["key"] for m in after["matches"]] == [MAIN_ROAD]

        # an invalid plan over HTTP: the field and the line, nothing saved
        r = await app.http.post(
            "/api/v1/plans",
            json={"yaml": GENERAL_YAML.replace("[traffic_collision]", "[traffic_jam]")},
            headers=crew.supervisor,
        )
        assert r.status_code == 422
        assert r.json()["code"] == "plan.incident_type_unknown"
        assert r.json()["params"]["line"] == 5
        r = await app.http.get("/api/v1/plans/collision_general/versions", headers=crew.leader)
        assert [v["status"] for v in r.json()["plans"]] == ["retired"]

        # the editor's way: a version's document, changed and saved as the next version
        r = await app.http.get(f"/api/v1/plans/{MAIN_ROAD}/versions/1", headers=crew.supervisor)
        assert r.json()["version"]["approved_by"] == "user:lead1"
        document = r.json()["document"]
        document["evacuation_m"] = 400
        r = await app.http.post(
            "/api/v1/plans/documents", json={"document": document}, headers=crew.supervisor
        )
        assert (r.status_code, r.json()["version"], r.json()["status"]) == (201, 2, "draft")
        r = await app.http.get(
            f"/api/v1/plans/{MAIN_ROAD}/diff?before=1&after=2", headers=crew.supervisor
        )
        assert [c["text"] for c in r.json()["changes"]] == ["evacuation_m: 300.0 -> 400.0"]
        document["stages"][0]["resources"]["crane"] = 1
        r = await app.http.post(
            "/api/v1/plans/documents", json={"document": document}, headers=crew.supervisor
        )
        assert r.json()["code"] == "plan.capability_unknown", r.text
        assert r.json()["params"]["field"] == "stages[0].resources.crane"
    finally:
        await engine.dispose()


async def test_activation_levels_stages_and_overdue_tasks(app: LiveApp, map_url: str) -> None:
    engine = create_async_engine(map_url)
    try:
        await b.seeded(engine)
        crew = await b.crew(app.http, engine)
        await _approved(app.http, crew, COLLISION_YAML)
        inc = await _incident(app.http, crew, "pile-up with several cars")
        iid = inc["id"]
        base = f"/api/v1/incidents/{iid}"

        r = await app.http.post(f"{base}/recommendation", headers=crew.dispatcher)
        assert r.json()["source"] == "run_card"

        # activation: tasks with owners and deadlines, the evacuation area, stage 1
        r = await app.http.post(f"{base}/plans/{MAIN_ROAD}/activate", headers=crew.dispatcher)
        assert r.status_code == 201, r.text
        [activation] = r.json()["activations"]
        tasks = r.json()["tasks"]
        assert (activation["version"], activation["stage"]) == (1, 1)
        assert [(t["seq"], t["role"], t["department"]) for t in tasks] == [
            (1, "police", "Landespolizei"),
            (2, "dispatcher", "Notruf 144"),
        ]
        at = datetime.fromisoformat(activation["activated_at"])
        due = [datetime.fromisoformat(t["due_at"]) - at for t in tasks]
        assert due == [timedelta(minutes=10), timedelta(minutes=5)]
        async with engine.connect() as conn:
            area = await conn.scalar(
                text("SELECT ST_Area(evacuation::geography) FROM plan_activations WHERE id = :i"),
                {"i": activation["id"]},
            )
        assert abs(area - 3.14159 * 300**2) / (3.14159 * 300**2) < 0.01
        again = await app.http.post(f"{base}/plans/{MAIN_ROAD}/activate", headers=crew.dispatcher)
        assert (again.status_code, again.json()["code"]) == (409, "plan.already_active")
        detail = (await app.http.get(base, headers=crew.dispatcher)).json()
        assert any("activated" in n["text"] for n in detail["narrative"])

        # the first alarm, then the second: its units join the recommendation
        first = (await app.http.post(f"{base}/recommendation", headers=crew.dispatcher)).json()
        assert first["source"] == "plan"
        assert first["requirements"].get("heavy_rescue", 0) == 0
        r = await app.http.post(f"{base}/plans/{MAIN_ROAD}/next-stage", headers=crew.dispatcher)
        assert r.json()["stage"] == 2, r.text
        second = (await app.http.post(f"{base}/recommendation", headers=crew.dispatcher)).json()
        assert second["requirements"]["heavy_rescue"] == 1
        assert second["requirements"]["ambulance_als"] >= 2
        first_units = {c["unit_id"] for c in first["chosen"]}
        second_units = {c["unit_id"] for c in second["chosen"]}
        assert len(second_units) > len(first_units)
        assert any("heavy_rescue" in c["covers"] for c in second["chosen"])
        last = await app.http.post(f"{base}/plans/{MAIN_ROAD}/next-stage", headers=crew.dispatcher)
        assert (last.status_code, last.json()["code"]) == (409, "plan.no_next_stage")

        # casualties raise the level by the plan's rule
        r = await app.http.put(
            f"{base}/situation", json={"casualties": 5, "trapped": 1}, headers=crew.dispatcher
        )
        assert r.json()["response_level"] == "II", r.text
        detail = (await app.http.get(base, headers=crew.dispatcher)).json()
        change = detail["level_changes"][-1]
        assert (change["from_value"], change["to_value"]) == ("IV", "II")
        assert "casualties 5" in change["reason"]

        # lowering: a leader, with a reason
        lower = f"{base}/response-level"
        r = await app.http.post(
            lower, json={"level": "III", "reason": "contained"}, headers=crew.dispatcher
        )
        assert (r.status_code, r.json()["code"]) == (403, "plan.level_lowering_leader_only")
        r = await app.http.post(lower, json={"level": "III", "reason": " "}, headers=crew.leader)
        assert (r.status_code, r.json()["code"]) == (422, "plan.level_lowering_reason")
        detail = (await app.http.get(base, headers=crew.dispatcher)).json()
        assert detail["incident"]["response_level"] == "II"
        r = await app.http.post(
            lower, json={"level": "III", "reason": "road cleared"}, headers=crew.leader
        )
        assert r.json()["incident"]["response_level"] == "III", r.text

        # one alert per overdue task; a task done in time is not alerted
        r = await app.http.post(
            f"/api/v1/plan-tasks/{tasks[0]['id']}/done", headers=crew.dispatcher
        )
        assert r.json()["status"] == "done", r.text
        assert await raise_overdue(engine, at + timedelta(minutes=4)) == []
        assert len(await raise_overdue(engine, at + timedelta(minutes=6))) == 1
        assert await raise_overdue(engine, at + timedelta(minutes=7)) == []
        assert await raise_overdue(engine, at + timedelta(minutes=30)) == []
        async with engine.connect() as conn:
            alerts = (
                await conn.execute(text("SELECT data FROM events WHERE type = 'plan.task_overdue'"))
            ).all()
        assert [a.data["task"] for a in alerts] == [tasks[1]["id"]]
        detail = (await app.http.get(base, headers=crew.dispatcher)).json()
        timeline = [n["text"] for n in detail["narrative"]]
        assert sum("overdue" in t for t in timeline) == 1
        assert any(t.startswith("task 1 done") for t in timeline)
        assert any("alarm stage 2" in t for t in timeline)
    finally:
        await engine.dispose()
