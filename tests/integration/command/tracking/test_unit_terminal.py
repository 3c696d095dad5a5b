"""The unit terminal websocket against a real server: refusals with close codes, idempotent
replays, geofences that do not depend on the arrival order, bad frames, flooding, future
times, and an assignment pushed with its route and acknowledged onto the board."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.avl.fixes import Fix
from dispatch.avl.partitions import PARENT
from gis.coords import distance_m
from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.live import LiveApp, serve
from tests.support.terminal import connected, frame, position
from tests.support.tracking import marker


@pytest.fixture
async def quick(database_url: str) -> AsyncIterator[LiveApp]:
    """The app with a small rate limit and a short wait for late positions."""
    async with serve(
        database_url, terminal_rate_per_s=5.0, terminal_burst=5.0, position_tolerance_s=0.5
    ) as live:
        yield live


async def _unit(engine: AsyncEngine, unit_id: str) -> str:
    await b.add_unit(engine, unit_id, "engine")
    return await builders.device(engine, unit_id)


async def _refusal(url: str) -> tuple[int, str]:
    async with websockets.connect(url) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_a_terminal_without_a_valid_token_is_refused_with_code_and_reason(
    live: LiveApp, engine: AsyncEngine
) -> None:
    await _unit(engine, "E1")
    url = f"{live.ws_url}/api/v1/units/ws"
    code, reason = await _refusal(url)
    assert (code, reason) == (4401, "sign in first: pass ?token=<token>")
    code, reason = await _refusal(url + "?token=not-a-token")
    assert code == 4401
    assert reason
    dispatcher = await builders.signed_in(live.http, engine, "disp1", "dispatcher")
    code, reason = await _refusal(url + "?token=" + dispatcher["Authorization"][7:])
    assert code == 4403
    assert "field_unit" in reason
    stray = await builders.device(engine, "NO-SUCH-UNIT")
    code, reason = await _refusal(url + "?token=" + stray)
    assert (code, reason) == (4403, "the terminal NO-SUCH-UNIT is named after no unit")


async def test_an_offline_batch_replayed_twice_is_taken_once(
    live: LiveApp, engine: AsyncEngine
) -> None:
    token = await _unit(engine, "E1")
    relayed: list[Fix] = []
    live.container.relay.subscribe(relayed.extend)
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    batch = frame(
        "positions",
        key="e1-batch-1",
        positions=[
            position(9.52 + i * 0.0005, 47.14, t0 + timedelta(seconds=5 * i), seq=i)
            for i in range(20)
        ],
    )
    async with connected(live.ws_url, token) as terminal:
        first = await terminal.send(batch)
    assert (first["type"], first["accepted"], first["duplicate"]) == ("ack", 20, False)
    # The link dropped before the terminal saw the ack: it replays its buffer, twice.
    for _ in range(2):
        async with connected(live.ws_url, token) as terminal:
            again = await terminal.send(batch)
        assert (again["type"], again["duplicate"]) == ("ack", True)
    assert len(relayed) == 20
    # Positions are idempotent by their breadcrumb key: no key row of their own.
    assert await b.count(engine, PARENT) == 20
    assert await b.count(engine, "tracking_terminal_keys") == 0
    latest = live.container.tracking.latest("E1")
    assert latest is not None
    assert latest.device_time == t0 + timedelta(seconds=95)


async def test_a_replay_older_than_the_remembered_keys_is_still_stored_once(
    database_url: str, engine: AsyncEngine
) -> None:
    token = await _unit(engine, "E1")
    t0 = datetime.now(UTC) - timedelta(minutes=1)
    sent = [
        frame("position", key=f"e1-{i}", position=position(9.52 + i / 1e4, 47.14,
                                                          t0 + timedelta(seconds=i)))
        for i in range(3)
    ]
    async with serve(database_url, terminal_recent_keys=2) as live, connected(
        live.ws_url, token
    ) as terminal:
        for f in sent:
            assert (await terminal.send(f))["duplicate"] is False
        recent = await terminal.send(sent[2])
        forgotten = await terminal.send(sent[0])  # beyond the last two keys
    assert (recent["type"], recent["duplicate"], recent["accepted"]) == ("ack", True, 1)
    assert (forgotten["type"], forgotten["duplicate"]) == ("ack", False)
    assert await b.count(engine, PARENT) == 3


async def test_bad_frames_get_an_error_naming_the_field_and_the_connection_stays_open(
    live: LiveApp, engine: AsyncEngine
) -> None:
    token = await _unit(engine, "E1")
    now = datetime.now(UTC)
    async with connected(live.ws_url, token) as terminal:
        cases: list[tuple[Any, str, str]] = [
            ("{not json", "", "terminal.frame_not_json"),
            ({"v": 1, "type": "position", "key": "k1"}, "position", "terminal.field_missing"),
            (frame("position", position={"lat": 47.1, "time": now.isoformat()}),
             "position.lon", "terminal.field_missing"),
            (frame("position", position=position(9.5, 95.0, now)), "position.lat",
             "position.out_of_range"),
            (frame("position", position=position(9.5, 47.1, now, speed=float("nan"))),
             "position.speed", "position.not_a_number"),
            (frame("status", status="flying"), "status", "unit.status_unknown"),
            (frame("ack", assignment_id=99), "assignment_id", "unit.acknowledge_not_dispatched"),
            ({"v": 3, "type": "status", "key": "k2", "status": "en_route"}, "v",
             "terminal.version_unsupported"),
        ]
        for sent, field, code in cases:
            raw = sent if isinstance(sent, str) else json.dumps(sent, allow_nan=True)
            answer = await terminal.send(raw)
            assert (answer["type"], answer["field"], answer["code"]) == ("error", field, code), (
                sent,
                answer,
            )
        # Still open, and a good frame is taken.
        good = await terminal.send(frame("position", position=position(9.52, 47.14, now)))
        assert (good["type"], good["accepted"]) == ("ack", 1)
    assert await b.count(engine, PARENT) == 1  # acknowledged: stored already
    assert await b.count(engine, "tracking_terminal_keys") == 0


async def test_a_flooding_terminal_is_limited_and_another_is_not(
    quick: LiveApp, engine: AsyncEngine
) -> None:
    flood_token = await _unit(engine, "E1")
    calm_token = await _unit(engine, "E2")
    now = datetime.now(UTC)
    async with connected(quick.ws_url, flood_token) as flood, connected(
        quick.ws_url, calm_token
    ) as calm:

        async def flooding() -> list[dict[str, Any]]:
            frames = [
                json.dumps(frame("position", position=position(9.52, 47.14, now - timedelta(
                    seconds=200 - i))))
                for i in range(100)
            ]
            for raw in frames:
                await flood.ws.send(raw)
            return [await flood.answer() for _ in frames]

        async def calmly() -> list[dict[str, Any]]:
            answers = []
            for i in range(4):
                answers.append(
                    await calm.send(
                        frame("position", position=position(9.53, 47.15, now - timedelta(
                            seconds=100 - i)))
                    )
                )
            return answers

        flooded, calm_answers = await asyncio.gather(flooding(), calmly())
    limited = [a for a in flooded if a.get("code") == "terminal.rate_limited"]
    assert len(limited) >= 90
    assert all(a["params"]["retry_after_s"] > 0 for a in limited)
    assert [a["type"] for a in calm_answers] == ["ack"] * 4
    assert quick.container.terminals.limited == {"E1": len(limited)}



async def test_a_future_position_is_refused_and_the_marker_moves_with_the_next(
    live: LiveApp, engine: AsyncEngine
) -> None:
    token = await _unit(engine, "E1")
    now = datetime.now(UTC)
    async with connected(live.ws_url, token) as terminal:
        ok = await terminal.send(frame("position", position=position(9.50, 47.14, now)))
        assert ok["type"] == "ack"
        ahead = await terminal.send(
            frame("position", position=position(9.51, 47.14, now + timedelta(hours=1)))
        )
        assert (ahead["type"], ahead["code"], ahead["field"]) == (
            "error", "position.time_in_future", "position.time",
        )
        moved = await terminal.send(
            frame("position", position=position(9.505, 47.141, now + timedelta(seconds=5)))
        )
        assert moved["type"] == "ack"
    await live.container.positions.flush()  # positions are stored in batches
    assert await marker(engine, "E1") == (9.505, 47.141, now + timedelta(seconds=5))


# ----------------------------------------------------------------------------- with the map


async def _incident_with(app: LiveApp, engine: AsyncEngine, unit_ids: Sequence[str]) -> int:
    people = await b.crew(app.http, engine)
    r = await app.http.post(
        "/api/v1/incidents",
        headers=people.call_taker,
        json={"type": "fire.structure", "lon": b.VADUZ_CENTRE[0], "lat": b.VADUZ_CENTRE[1],
              "address": "Städtle 1, Vaduz", "summary": "smoke from the roof"},
    )
    assert r.status_code == 201, r.text
    iid = int(r.json()["incident"]["id"])
    if unit_ids:
        r = await app.http.post(
            f"/api/v1/incidents/{iid}/assignments",
            headers=people.dispatcher,
            json={"unit_ids": list(unit_ids)},
        )
        assert r.status_code == 201, r.text
    return iid


def _approach(t0: datetime) -> list[dict[str, Any]]:
    """From 1.2 km west of the incident to its centre and beyond, a fix every 5 s."""
    lon0, lat0 = b.VADUZ_CENTRE
    out = []
    for i in range(24):
        lon = lon0 - 0.016 + i * 0.001  # ~75 m a step
        out.append(position(lon, lat0, t0 + timedelta(seconds=5 * i), seq=i))
    return out


async def _arrivals(engine: AsyncEngine, unit_id: str, until_s: float = 20.0) -> list[Any]:
    deadline = time.monotonic() + until_s
    while True:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT data FROM events WHERE type = 'unit.arrival_detected' "
                         "AND subject_id = :u"),
                    {"u": unit_id},
                )
            ).all()
        if rows or time.monotonic() > deadline:
            return [r.data for r in rows]
        await asyncio.sleep(0.1)


async def test_an_out_of_order_batch_gives_exactly_the_geofence_events_of_the_true_path(
    map_url: str, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    async with serve(map_url, position_tolerance_s=3.0) as app:
        fleet = [u.id for u in await app.container.unit_status.units() if u.unit_type == "engine"]
        in_order, shuffled = fleet[:2]
        await _incident_with(app, map_engine, [in_order, shuffled])
        t0 = datetime.now(UTC) - timedelta(minutes=3)
        path = _approach(t0)
        jumbled = path[:]
        random.Random(9).shuffle(jumbled)
        for unit_id, fixes in ((in_order, path), (shuffled, jumbled)):
            token = await builders.device(map_engine, unit_id)
            async with connected(app.ws_url, token) as terminal:
                # in two batches, the second one first for the shuffled unit
                halves = [fixes[:12], fixes[12:]]
                if fixes is jumbled:
                    halves.reverse()
                for half in halves:
                    answer = await terminal.send(frame("positions", positions=half))
                    assert answer["accepted"] == len(half)
        truth = await _arrivals(map_engine, in_order)
        seen = await _arrivals(map_engine, shuffled)
    assert len(truth) == 1
    assert len(seen) == 1
    [a], [c] = truth, seen
    assert (a["at"], a["lon"], a["lat"], a["fence"]) == (c["at"], c["lon"], c["lat"], c["fence"])
    # dated by the first fix inside the 80 m circle
    assert distance_m(a["lon"], a["lat"], *b.VADUZ_CENTRE) <= 80


async def test_an_assignment_reaches_the_open_terminal_within_a_second_with_its_route(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    unit_id = next(
        u.id for u in await app.container.unit_status.units() if u.unit_type == "engine"
    )
    token = await builders.device(map_engine, unit_id)
    dispatcher = await builders.signed_in(app.http, map_engine, "disp9", "dispatcher")
    async with connected(app.ws_url, token) as terminal:
        assert terminal.current["assignment"] is None
        iid = await _incident_with(app, map_engine, [])
        started = time.monotonic()
        r = await app.http.post(
            f"/api/v1/incidents/{iid}/assignments",
            headers=dispatcher,
            json={"unit_ids": [unit_id]},
        )
        assert r.status_code == 201, r.text
        pushed = await terminal.push("assignment", within_s=1.0)
        took = time.monotonic() - started
        assert took < 1.0
        assert pushed["event"] == "new"
        assert pushed["incident"]["id"] == iid
        route = pushed["route"]
        assert route is not None
        assert route["seconds"] > 0
        assert route["metres"] > 0
        coords = route["geometry"]["coordinates"]
        assert distance_m(coords[-1][0], coords[-1][1], *b.VADUZ_CENTRE) < 300
        aid = pushed["assignment"]["id"]
        acked = await terminal.send(frame("ack", assignment_id=aid))
        assert (acked["type"], acked["incident_id"]) == ("ack", iid)
        board = (await app.http.get("/api/v1/units/board", headers=dispatcher)).json()
        [row] = [u for u in board["units"] if u["id"] == unit_id]
        assert row["acknowledged_at"] is not None
        # The same ack sent again (a replay) changes nothing.
        again = await terminal.send(frame("ack", key=acked["key"], assignment_id=aid))
        assert again["duplicate"] is True
        # En route, then called off: the terminal is told.
        moving = await terminal.send(frame("status", status="en_route"))
        assert (moving["type"], moving["status"]) == ("ack", "en_route")
        r = await app.http.post(
            f"/api/v1/incidents/{iid}/assignments/{unit_id}/cancel", headers=dispatcher
        )
        assert r.status_code == 200, r.text
        ended = await terminal.push("assignment_ended")
        assert (ended["incident_id"], ended["reason"]) == (iid, "cancelled")
        # Sent again, then replaced by another unit: the terminal is told it was reassigned.
        r = await app.http.post(
            f"/api/v1/incidents/{iid}/assignments", headers=dispatcher,
            json={"unit_ids": [unit_id]},
        )
        assert r.status_code == 201, r.text
        assert (await terminal.push("assignment"))["incident"]["id"] == iid
        other = next(
            u.id for u in await app.container.unit_status.units()
            if u.unit_type == "engine" and u.id != unit_id
        )
        r = await app.http.post(
            f"/api/v1/incidents/{iid}/reassign", headers=dispatcher,
            json={"from_unit": unit_id, "to_unit": other},
        )
        assert r.status_code == 200, r.text
        ended = await terminal.push("assignment_ended")
        assert (ended["incident_id"], ended["reason"]) == (iid, "reassigned")
    assert (await b.event_types(map_engine, "unit", unit_id)).count("unit.acknowledged") == 1



async def test_messages_both_ways_for_a_terminal_named_by_callsign(
    live: LiveApp, engine: AsyncEngine
) -> None:
    unit = await b.add_unit(engine, "E1", "engine")
    token = await builders.device(engine, unit.callsign)
    dispatcher = await builders.signed_in(live.http, engine, "disp1", "dispatcher")
    async with connected(live.ws_url, token) as terminal:
        assert terminal.hello["unit_id"] == "E1"
        r = await live.http.post(
            "/api/v1/units/E1/messages", headers=dispatcher, json={"text": "stand by at FS1"}
        )
        assert r.status_code == 200, r.text
        told = await terminal.push("message")
        assert (told["text"], told["from"]) == ("stand by at FS1", "user:disp1")
        said = await terminal.send(frame("message", text="fuel low, refilling"))
        assert (said["type"], said["for"]) == ("ack", "message")
    r = await live.http.post(
        "/api/v1/units/NOPE/messages", headers=dispatcher, json={"text": "hello"}
    )
    assert r.status_code == 404
    page = (await live.http.get("/api/v1/events", headers=dispatcher)).json()["events"]
    [received] = [e for e in page if e["type"] == "unit.message_received"]
    assert (received["subject_id"], received["data"]["text"]) == ("E1", "fuel low, refilling")


async def test_a_replay_after_a_server_restart_changes_nothing_twice(
    database_url: str, engine: AsyncEngine
) -> None:
    token = await _unit(engine, "E1")
    sent = frame("status", key="e1-status-1", status="out_of_service", reason="tyre")
    async with serve(database_url) as first, connected(first.ws_url, token) as terminal:
        answer = await terminal.send(sent)
    assert (answer["type"], answer["duplicate"], answer["status"]) == ("ack", False,
                                                                      "out_of_service")
    async with serve(database_url) as second, connected(second.ws_url, token) as terminal:
        again = await terminal.send(sent)
        assert (again["type"], again["duplicate"], again["status"]) == ("ack", True,
                                                                        "out_of_service")
        back = await terminal.send(frame("status", status="available"))
        assert back["type"] == "ack"
    assert (await b.event_types(engine, "unit", "E1")).count("unit.status_changed") == 2


async def test_old_keys_are_pruned_by_age(live: LiveApp, engine: AsyncEngine) -> None:
    token = await _unit(engine, "E1")
    async with connected(live.ws_url, token) as terminal:
        for text_ in ("one", "two"):
            assert (await terminal.send(frame("message", text=text_)))["type"] == "ack"
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE tracking_terminal_keys SET created_at = now() - interval '8 days' "
                 "WHERE key IN (SELECT key FROM tracking_terminal_keys LIMIT 1)")
        )
    assert await live.container.terminals.prune() == 1
    assert await b.count(engine, "tracking_terminal_keys") == 1
