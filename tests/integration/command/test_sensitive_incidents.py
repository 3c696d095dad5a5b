"""Sensitive incidents over real HTTP and websockets, on one process and across two: marked,
an incident disappears for every console its marking does not name (404 as if it did not exist,
absent from lists, the export, the event log and the event stream, the screen pop's history)
while the named users read it with every read audited; the assigned unit's terminal still gets
it; unmarking restores it; marked as it is logged, not even its creation leaks; bad markings
are refused with their codes and change nothing."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import websockets
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.calltaking.screen_pop import POP_SQL
from command.tables import audit_log
from telephony.phone import normal_number
from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.live import LiveApp, serve
from tests.support.terminal import connected
from tests.support.waiting import until

PHONE = "+423 000 11 22"


async def _incident(
    http: httpx.AsyncClient, headers: dict[str, str], summary: str
) -> dict[str, Any]:
    r = await http.post(
        "/api/v1/incidents",
        headers=headers,
        json={
            "type": "crime.violent",
            "lon": b.VADUZ_CENTRE[0],
            "lat": b.VADUZ_CENTRE[1],
            "caller_phone": PHONE,
            "summary": summary,
        },
    )
    assert r.status_code == 201, r.text
    incident: dict[str, Any] = r.json()["incident"]
    return incident


async def _audit(engine: AsyncEngine, action: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id)
        )
        return [dict(r._mapping) for r in rows]


class Console:
    """An event websocket and what it has received."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def about(self, incident_id: int) -> list[str]:
        return [e["type"] for e in self.seen if e["subject_id"] == str(incident_id)]


@asynccontextmanager
async def _console(app: LiveApp, headers: dict[str, str], after: int) -> AsyncIterator[Console]:
    token = headers["Authorization"].removeprefix("Bearer ")
    console = Console()
    url = f"{app.ws_url}/api/v1/events/ws?token={token}&after={after}"
    async with websockets.connect(url) as ws:

        async def read() -> None:
            while True:
                console.seen.append(json.loads(await ws.recv()))

        task = asyncio.create_task(read())
        try:
            yield console
        finally:
            task.cancel()


async def test_a_marked_incident_is_hidden_from_consoles_it_does_not_name(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    http = app.http
    await b.seeded(map_engine)
    people = await b.crew(http, map_engine)
    named = await builders.signed_in(http, map_engine, "disp2", "dispatcher")
    admin = await builders.signed_in(http, map_engine, "adm1", "admin")
    other = people.dispatcher  # disp1: a dispatcher the marking does not name
    marked_one = await _incident(http, people.call_taker, "a woman hurt by her partner")
    hidden = marked_one["id"]
    plain_one = await _incident(http, people.call_taker, "a fight outside a bar")
    plain, plain_number = plain_one["id"], plain_one["number"]
    before = app.container.hub.last_seq

    async with _console(app, other, before) as theirs, _console(app, named, before) as ours:
        r = await http.put(
            f"/api/v1/incidents/{hidden}/sensitivity",
            headers=people.supervisor,
            json={
                "sensitive": True,
                "reason": "domestic_violence",
                "roles": ["leader"],
                "users": ["disp2"],
            },
        )
        assert r.status_code == 200, r.text
        marked = r.json()
        assert (marked["sensitive"], marked["reason"]) == (True, "domestic_violence")
        assert (marked["roles"], marked["users"], marked["marked_by"]) == (
            ["leader"],
            ["disp2"],
            "user:sup1",
        )

        # A direct read by someone not named: the answer for an incident that does not exist.
        missing = await http.get("/api/v1/incidents/999999", headers=other)
        for path in (
            f"/api/v1/incidents/{hidden}",
            f"/api/v1/incidents/{hidden}/tracks",
            f"/api/v1/incidents/{hidden}/sensitivity",
        ):
            refused = await http.get(path, headers=other)
            assert refused.status_code == 404, path
            assert refused.json()["code"] == missing.json()["code"] == "incident.not_found"
            assert refused.json()["message"] == f"incident {hidden} does not exist"
        r = await http.get(f"/api/v1/incidents/by-number/{marked_one['number']}", headers=other)
        assert (r.status_code, r.json()["code"]) == (404, "incident.not_found")
        # ... nor can they change it, and nothing is written.
        r = await http.post(
            f"/api/v1/incidents/{hidden}/narrative", headers=other, json={"text": "seen it"}
        )
        assert r.status_code == 404
        # Neither the creator nor an admin reads it by default: need-to-know, not rank.
        for who in (people.call_taker, admin):
            assert (await http.get(f"/api/v1/incidents/{hidden}", headers=who)).status_code == 404
        # Absent from the board (the map draws its incident layer from it) and the export.
        board = (await http.get("/api/v1/incidents", headers=other)).json()["incidents"]
        assert {i["id"] for i in board} == {plain}
        exported = (await http.get("/api/v1/incidents/response-times.csv", headers=admin)).text
        assert [row["number"] for row in csv.DictReader(io.StringIO(exported))] == [plain_number]

        # Nor is it offered as a probable duplicate of a new call at the same place.
        point = {"type": "crime.violent", "lon": b.VADUZ_CENTRE[0], "lat": b.VADUZ_CENTRE[1]}
        for who, expected in ((other, [plain]), (named, [hidden, plain])):
            r = await http.post("/api/v1/incidents/duplicates", headers=who, json=point)
            hints = r.json()["probable_duplicates"]
            assert sorted(h["incident_id"] for h in hints) == expected

        # The named dispatcher and the named role read it.
        r = await http.get(f"/api/v1/incidents/{hidden}", headers=named)
        assert r.status_code == 200, r.text
        assert r.json()["incident"]["summary"] == "a woman hurt by her partner"
        r = await http.get(f"/api/v1/incidents/{hidden}", headers=people.leader)
        assert r.status_code == 200
        board = (await http.get("/api/v1/incidents", headers=named)).json()["incidents"]
        assert {i["id"] for i in board} == {hidden, plain}
        r = await http.post(
            f"/api/v1/incidents/{hidden}/narrative", headers=named, json={"text": "on my way"}
        )
        assert r.status_code == 201, r.text
        r = await http.post(
            f"/api/v1/incidents/{plain}/narrative", headers=other, json={"text": "noted"}
        )
        assert r.status_code == 201, r.text

        # Events: the console not named gets the plain incident's note, and nothing of the
        # marked one (its events come before, in order, so they would have arrived first).
        await until(lambda: "incident.narrative_added" in theirs.about(plain))
        await until(lambda: "incident.narrative_added" in ours.about(plain))
        assert theirs.about(hidden) == []
        assert ours.about(hidden) == ["incident.sensitivity_changed", "incident.narrative_added"]
        page = (await http.get(f"/api/v1/events?after={before}", headers=other)).json()
        assert all(e["subject_id"] != str(hidden) for e in page["events"])
        assert page["last_seq"] >= theirs.seen[-1]["seq"]

    # The screen pop of the next call from that number lists only the plain incident.
    async with map_engine.connect() as conn:
        row = (
            await conn.execute(
                POP_SQL,
                {
                    "number": normal_number(PHONE),
                    "since": datetime.now(UTC) - timedelta(days=1),
                    "id": "",
                    "loc_since": datetime.now(UTC),
                },
            )
        ).one()
    assert [i["id"] for i in row.incidents] == [plain]

    # Every read of the marked incident is audited: who, which, by which route.
    reads = await _audit(map_engine, "incident.read_sensitive")
    by = {(r["actor"], r["object_id"], r["result"], r["detail"]["route"]) for r in reads}
    assert ("user:disp2", str(hidden), "ok", "GET /api/v1/incidents/{incident_id}") in by
    assert ("user:lead1", str(hidden), "ok", "GET /api/v1/incidents/{incident_id}") in by
    assert ("user:disp2", str(hidden), "ok", "POST /api/v1/incidents/{incident_id}/narrative") in by
    assert ("user:disp1", str(hidden), "refused", "GET /api/v1/incidents/{incident_id}") in by
    lists = [(r["actor"], r["detail"]["route"]) for r in reads if r["object_id"] == "list"]
    assert lists == [
        ("user:disp2", "POST /api/v1/incidents/duplicates"),
        ("user:disp2", "GET /api/v1/incidents"),
    ]
    streamed = [r for r in reads if r["detail"]["route"] == "WS /api/v1/events/ws"]
    assert [(r["actor"], r["detail"]["incidents"]) for r in streamed] == [("user:disp2", [hidden])]
    [mark] = await _audit(map_engine, "incident.mark_sensitive")
    assert (mark["actor"], mark["object_id"]) == ("user:sup1", str(hidden))
    assert mark["detail"]["users"] == ["disp2"]

    # The unit sent to it gets its assignment on its terminal: need-to-know, audited. Every
    # board sees the unit busy; only the named console learns on what.
    unit_id = next(u.id for u in await app.container.unit_status.units() if u.unit_type == "engine")
    token = await builders.device(map_engine, unit_id)
    now = app.container.hub.last_seq
    async with (
        _console(app, other, now) as theirs,
        _console(app, named, now) as ours,
        connected(app.ws_url, token) as terminal,
    ):
        r = await http.post(
            f"/api/v1/incidents/{hidden}/assignments", headers=named, json={"unit_ids": [unit_id]}
        )
        assert r.status_code == 201, r.text
        pushed = await terminal.push("assignment")
        assert pushed["incident"]["id"] == hidden

        def unit_events(console: Console) -> list[dict[str, Any]]:
            return [e for e in console.seen if e["subject_id"] == unit_id]

        await until(lambda: bool(unit_events(theirs)) and bool(unit_events(ours)))
        [busy] = unit_events(theirs)
        assert (busy["type"], busy["data"]["to"], busy["data"]["incident_id"]) == (
            "unit.status_changed",
            "dispatched",
            None,
        )
        assert unit_events(ours)[0]["data"]["incident_id"] == hidden
        assert theirs.about(hidden) == []
        assert "incident.unit_assigned" in ours.about(hidden)
    # The unit board and the unit show the unit busy, on an incident only the named see.
    for who, on in ((other, None), (named, hidden)):
        units = (await http.get("/api/v1/units/board", headers=who)).json()["units"]
        [shown] = [u for u in units if u["id"] == unit_id]
        assert (shown["status"], shown["incident_id"]) == ("dispatched", on)
        one = (await http.get(f"/api/v1/units/{unit_id}", headers=who)).json()
        assert one["incident_id"] == on
    path = f"/api/v1/units/{unit_id}/assignment"
    assert (await http.get(path, headers=other)).status_code == 404
    own = await http.get(path, headers={"Authorization": f"Bearer {token}"})
    assert own.json()["incident"]["id"] == hidden
    reads = await _audit(map_engine, "incident.read_sensitive")
    terminal_reads = [r["detail"]["route"] for r in reads if r["actor"] == f"device:{unit_id}"]
    assert terminal_reads == ["terminal assignment new", "GET /api/v1/units/{unit_id}/assignment"]

    # Unmarked, it is an ordinary incident again for every console.
    r = await http.put(
        f"/api/v1/incidents/{hidden}/sensitivity",
        headers=people.supervisor,
        json={"sensitive": False},
    )
    assert (r.status_code, r.json()["sensitive"]) == (200, False)
    assert (await http.get(f"/api/v1/incidents/{hidden}", headers=other)).status_code == 200
    board = (await http.get("/api/v1/incidents", headers=other)).json()["incidents"]
    assert hidden in {i["id"] for i in board}
    [unmark] = await _audit(map_engine, "incident.unmark_sensitive")
    assert unmark["actor"] == "user:sup1"


async def test_bad_markings_are_refused_with_their_codes_and_change_nothing(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    http = app.http
    people = await b.crew(http, map_engine)
    iid = (await _incident(http, people.call_taker, "an officer hurt"))["id"]
    url = f"/api/v1/incidents/{iid}/sensitivity"
    good = {"sensitive": True, "reason": "officer_involved", "roles": ["dispatcher"]}
    refusals = [
        ({**good, "roles": ["dispatcher", "chief"]}, 422, "sensitivity.role_unknown"),
        ({**good, "users": ["nobody"]}, 422, "sensitivity.user_unknown"),
        ({**good, "reason": "celebrity"}, 422, "sensitivity.reason_unknown"),
        ({**good, "roles": []}, 422, "sensitivity.nobody_named"),
    ]
    for body, status, code in refusals:
        r = await http.put(url, headers=people.supervisor, json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), body
    # A dispatcher is neither a supervisor nor the creator.
    r = await http.put(url, headers=people.dispatcher, json=good)
    assert (r.status_code, r.json()["code"]) == (403, "sensitivity.not_allowed")
    r = await http.put("/api/v1/incidents/999999/sensitivity", headers=people.supervisor, json=good)
    assert (r.status_code, r.json()["code"]) == (404, "incident.not_found")

    r = await http.get(url, headers=people.supervisor)
    assert (r.status_code, r.json()["sensitive"]) == (200, False)
    assert await _audit(map_engine, "incident.mark_sensitive") == []
    async with map_engine.connect() as conn:
        changed = await conn.execute(
            text("SELECT count(*) FROM events WHERE type = 'incident.sensitivity_changed'")
        )
        assert changed.scalar_one() == 0

    # The call-taker who logged it may mark it, and then reads it only if named.
    r = await http.put(url, headers=people.call_taker, json=good)
    assert r.status_code == 200, r.text
    assert (
        await http.get(f"/api/v1/incidents/{iid}", headers=people.call_taker)
    ).status_code == 404
    assert (
        await http.get(f"/api/v1/incidents/{iid}", headers=people.dispatcher)
    ).status_code == 200
    # Merging would show its calls and units to the readers of the other incident.
    other = (await _incident(http, people.call_taker, "the same fight"))["id"]
    r = await http.post(
        f"/api/v1/incidents/{iid}/merge", headers=people.dispatcher, json={"absorbed_id": other}
    )
    assert (r.status_code, r.json()["code"]) == (409, "sensitivity.merge_differs")
    # ... and can no longer change the marking; a supervisor still can, without being named.
    r = await http.put(url, headers=people.call_taker, json={"sensitive": False})
    assert r.status_code == 404
    r = await http.get(url, headers=people.supervisor)
    assert (r.status_code, r.json()["roles"]) == (200, ["dispatcher"])
    r = await http.put(url, headers=people.supervisor, json={"sensitive": False})
    assert (r.status_code, r.json()["sensitive"]) == (200, False)


async def test_an_incident_marked_as_it_is_logged_never_reaches_a_console_it_does_not_name(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    http = app.http
    people = await b.crew(http, map_engine)
    vip = {"sensitive": True, "reason": "vip", "roles": ["leader"]}
    point = {"type": "medical", "lon": b.VADUZ_CENTRE[0], "lat": b.VADUZ_CENTRE[1]}
    r = await http.post(
        "/api/v1/incidents",
        headers=people.call_taker,
        json={**point, "sensitivity": {**vip, "users": ["nobody"]}},
    )
    assert (r.status_code, r.json()["code"]) == (422, "sensitivity.user_unknown")
    assert await b.count(map_engine, "incidents") == 0

    before = app.container.hub.last_seq
    async with (
        _console(app, people.dispatcher, before) as theirs,
        _console(app, people.leader, before) as ours,
    ):
        r = await http.post(
            "/api/v1/incidents", headers=people.call_taker, json={**point, "sensitivity": vip}
        )
        assert r.status_code == 201, r.text
        marked = r.json()["incident"]["id"]
        plain = await _incident(http, people.call_taker, "a fall at home")
        await until(lambda: "incident.created" in theirs.about(plain["id"]))
        await until(lambda: "incident.created" in ours.about(plain["id"]))
        assert theirs.about(marked) == []
        assert ours.about(marked) == ["incident.sensitivity_changed", "incident.created"]
    r = await http.get(f"/api/v1/incidents/{marked}/sensitivity", headers=people.leader)
    assert (r.json()["sensitive"], r.json()["marked_by"]) == (True, "user:ct1")
    assert (
        await http.get(f"/api/v1/incidents/{marked}", headers=people.dispatcher)
    ).status_code == 404


async def test_every_process_screens_by_the_markings_made_on_any(
    app: LiveApp, map_url: str, map_engine: AsyncEngine
) -> None:
    http = app.http
    people = await b.crew(http, map_engine)
    named = await builders.signed_in(http, map_engine, "disp2", "dispatcher")
    earlier = (await _incident(http, people.call_taker, "marked before the standby started"))["id"]
    later = (await _incident(http, people.call_taker, "marked while it runs"))["id"]
    plain = (await _incident(http, people.call_taker, "an ordinary call"))["id"]
    only_disp2 = {"sensitive": True, "reason": "other", "users": ["disp2"]}

    async def mark(incident_id: int) -> None:
        r = await http.put(
            f"/api/v1/incidents/{incident_id}/sensitivity",
            headers=people.supervisor,
            json=only_disp2,
        )
        assert r.status_code == 200, r.text

    async def note(incident_id: int, headers: dict[str, str]) -> None:
        r = await http.post(
            f"/api/v1/incidents/{incident_id}/narrative", headers=headers, json={"text": "seen"}
        )
        assert r.status_code == 201, r.text

    await mark(earlier)
    async with serve(map_url) as standby:
        # The standby read the first marking as it started; the second is made on the first
        # process and reaches the standby's hub through the event log.
        async with _console(standby, people.dispatcher, 0) as theirs:
            await until(lambda: "incident.created" in theirs.about(plain))
            await mark(later)
            await note(later, named)
            await note(earlier, named)
            await note(plain, people.dispatcher)
            await until(lambda: "incident.narrative_added" in theirs.about(plain))
        assert theirs.about(earlier) == []  # not even its creation, read back from the log
        assert theirs.about(later) == ["incident.created"]  # sent before it was marked
        refused = await standby.http.get(f"/api/v1/incidents/{later}", headers=people.dispatcher)
        assert refused.status_code == 404
