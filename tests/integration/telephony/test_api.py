"""The telephony API and the screen-pop websocket, over real HTTP, websockets and AMI TCP."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets

from ops.pgcluster import free_port
from telephony.simulator import AmiSimulator
from tests.integration.telephony.conftest import service
from tests.support.builders import signed_in
from tests.support.live import LiveApp, serve
from tests.support.waiting import until

SEAT1 = "Local/1001@agents"
SEAT2 = "Local/1002@agents"


async def next_pop(ws: Any, limit: float = 5.0) -> dict[str, Any]:
    """The next screen pop, with its history merged in when that followed separately."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), limit))
        if message["type"] != "screen_pop":
            continue
        pop = dict(message)
        while pop["history_pending"]:
            follow = json.loads(await asyncio.wait_for(ws.recv(), limit))
            if follow["type"] == "screen_pop_history" and follow["call_id"] == pop["call"]["id"]:
                pop.update(
                    {k: follow[k] for k in ("earlier_calls", "earlier_incidents", "location")}
                )
                pop["history_pending"] = False
        return pop


def seat_state(app: LiveApp, interface: str) -> str | None:
    seat = service(app).bridge.tracker.seats.get(interface)
    return None if seat is None else str(seat.state)


@pytest.fixture
async def two_takers(live: LiveApp) -> tuple[dict[str, str], dict[str, str]]:
    alice = await signed_in(live.http, live.container.engine, "alice", "call_taker")
    bob = await signed_in(live.http, live.container.engine, "bob", "call_taker")
    for who, seat in ((alice, SEAT1), (bob, SEAT2)):
        r = await live.http.post(
            "/api/v1/telephony/seats/sign-in",
            headers=who,
            json={"interface": seat, "name": seat[6:10]},
        )
        assert r.status_code == 202, r.text
    await until(
        lambda: seat_state(live, SEAT1) == "available" and seat_state(live, SEAT2) == "available"
    )
    return alice, bob


async def test_sign_in_pause_and_resume(live: LiveApp, two_takers: Any) -> None:
    alice, bob = two_takers
    r = await live.http.post(
        "/api/v1/telephony/seats/pause",
        headers=alice,
        json={"interface": SEAT1, "reason": "paperwork"},
    )
    assert r.status_code == 202, r.text
    await until(lambda: seat_state(live, SEAT1) == "paused")
    # bob may not pause alice's seat
    r = await live.http.post(
        "/api/v1/telephony/seats/resume", headers=bob, json={"interface": SEAT1}
    )
    assert r.status_code == 403
    assert seat_state(live, SEAT1) == "paused"
    r = await live.http.post(
        "/api/v1/telephony/seats/pause", headers=alice, json={"interface": SEAT1, "reason": ""}
    )
    assert r.status_code == 422
    r = await live.http.post(
        "/api/v1/telephony/seats/resume", headers=alice, json={"interface": SEAT1}
    )
    assert r.status_code == 202
    await until(lambda: seat_state(live, SEAT1) == "available")
    seats = (await live.http.get("/api/v1/telephony/seats", headers=alice)).json()["seats"]
    mine = next(s for s in seats if s["interface"] == SEAT1)
    assert mine["username"] == "alice"
    assert mine["state"] == "available"
    stats = (await live.http.get("/api/v1/telephony/stats?hours=1", headers=alice)).json()
    assert stats["seats"][SEAT1]["pause_by_reason_s"]["paperwork"] > 0


async def test_screen_pop_reaches_the_seat_offered_then_transfer_and_recording(
    live: LiveApp, sim: AmiSimulator, two_takers: Any
) -> None:
    alice, bob = two_takers
    # bob goes on a break: the call must be offered to alice only
    r = await live.http.post(
        "/api/v1/telephony/seats/pause", headers=bob, json={"interface": SEAT2, "reason": "break"}
    )
    assert r.status_code == 202
    await until(lambda: seat_state(live, SEAT2) == "paused")
    r = await live.http.post(
        "/api/v1/telephony/locations",
        headers=alice,
        json={
            "number": "+4237775000",
            "lat": 47.14,
            "lon": 9.52,
            "accuracy_m": 30,
            "source": "aml",
        },
    )
    assert r.status_code == 201
    url = live.ws_url + "/api/v1/telephony/ws?seat={}&token={}"
    token_a = alice["Authorization"].split()[1]
    token_b = bob["Authorization"].split()[1]
    async with websockets.connect(url.format(SEAT2, token_a)) as stolen:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(stolen.recv(), 5)
            await asyncio.wait_for(stolen.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403
    async with (
        websockets.connect(url.format(SEAT1, token_a)) as ws_a,
        websockets.connect(url.format(SEAT2, token_b)) as ws_b,
    ):
        assert json.loads(await ws_a.recv())["type"] == "hello"
        assert json.loads(await ws_b.recv())["type"] == "hello"
        sim.originate_caller("+4237775000", "Caller Pop", hold_for=600, talk=600)
        pop = await next_pop(ws_a)
        assert pop["seat"] == SEAT1
        assert pop["caller"] == {"number": "+4237775000", "name": "Caller Pop"}
        assert pop["location"]["lat"] == 47.14
        assert pop["location"]["source"] == "aml"
        assert pop["incident_draft"]["caller_phone"] == "+4237775000"
        assert pop["earlier_calls"] == []
        call_id = pop["call"]["id"]
        with pytest.raises(TimeoutError):
            await next_pop(ws_b, limit=0.5)

        svc = service(live)
        await until(lambda: svc.bridge.tracker.calls[call_id].state == "answered")
        r = await live.http.post(
            f"/api/v1/telephony/calls/{call_id}/recording/start", headers=alice
        )
        assert r.status_code == 201, r.text
        file = r.json()["file"]
        assert call_id in file
        assert file.endswith(".wav")
        r = await live.http.post(
            f"/api/v1/telephony/calls/{call_id}/transfer", headers=bob, json={"exten": "2000"}
        )
        assert r.status_code == 403  # not bob's call
        r = await live.http.post(
            f"/api/v1/telephony/calls/{call_id}/transfer", headers=alice, json={"exten": "20\r\n00"}
        )
        assert r.status_code == 422
        r = await live.http.post(
            f"/api/v1/telephony/calls/{call_id}/transfer",
            headers=alice,
            json={"exten": "2000", "context": "agents"},
        )
        assert r.status_code == 202, r.text
        await until(
            lambda: (
                call_id not in svc.bridge.tracker.calls
                or svc.bridge.tracker.calls[call_id].state == "transferred"
            )
        )
        await svc.bridge.flush()
        detail = (await live.http.get(f"/api/v1/telephony/calls/{call_id}", headers=alice)).json()
        steps = [t["to_state"] for t in detail["transitions"]]
        assert steps[:4] == ["queued", "offered", "answered", "transferred"]
        assert detail["transfer_target"] == "2000@agents"
        assert [rec["file"] for rec in detail["recordings"]] == [file]

        # the same number calls again: the pop shows the earlier call
        await live.http.post(
            "/api/v1/telephony/seats/resume", headers=bob, json={"interface": SEAT2}
        )
        await until(lambda: seat_state(live, SEAT2) == "available")
        sim.originate_caller("+4237775000", "Caller Pop", hold_for=600, talk=1)
        pops = await asyncio.gather(next_pop(ws_a), next_pop(ws_b), return_exceptions=True)
        again = next(p for p in pops if isinstance(p, dict))
        assert [c["id"] for c in again["earlier_calls"]] == [call_id]


async def test_sms_intake_offers_to_an_available_seat(live: LiveApp, two_takers: Any) -> None:
    alice, _ = two_takers
    r = await live.http.post(
        "/api/v1/telephony/intake/sms",
        headers=alice,
        json={
            "sender": "+4237776000",
            "text": "Fire on 3rd floor, cannot speak",
            "external_id": "m-1",
            "lat": 47.1,
            "lon": 9.5,
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["call_id"].startswith("sms-")
    assert body["offered_to"] in (SEAT1, SEAT2)
    again = await live.http.post(
        "/api/v1/telephony/intake/sms",
        headers=alice,
        json={
            "sender": "+4237776000",
            "text": "Fire on 3rd floor, cannot speak",
            "external_id": "m-1",
        },
    )
    assert again.json() == {"call_id": body["call_id"], "duplicate": True, "offered_to": None}
    detail = (
        await live.http.get(f"/api/v1/telephony/calls/{body['call_id']}", headers=alice)
    ).json()
    assert detail["kind"] == "sms"
    assert detail["state"] == "offered"
    assert detail["report"]["body"] == "Fire on 3rd floor, cannot speak"


async def test_unreachable_asterisk_is_degraded_and_intake_still_works(
    database_url: str,
) -> None:
    closed_port = free_port()
    async with serve(database_url, ami_port=closed_port, ami_secret="x") as app:
        svc = app.container.telephony
        await until(
            lambda: (
                svc.health.status == "degraded"
                and "cannot reach Asterisk" in (svc.health.reason or "")
            )
        )
        health = (await app.http.get("/api/v1/health")).json()
        assert health["parts"]["telephony"]["status"] == "degraded"
        taker = await signed_in(app.http, app.container.engine, "carol", "call_taker")
        r = await app.http.post(
            "/api/v1/telephony/seats/sign-in", headers=taker, json={"interface": SEAT1}
        )
        assert r.status_code == 503
        assert "Asterisk" in r.json()["message"]
        bad = await app.http.post(
            "/api/v1/telephony/intake/alarm",
            headers=taker,
            json={"source": "panel-9", "text": "smoke detector", "lat": 95, "lon": 9.5},
        )
        assert bad.status_code == 422
        assert "latitude 95" in bad.json()["message"]
        r = await app.http.post(
            "/api/v1/telephony/intake/alarm",
            headers=taker,
            json={
                "source": "panel-9",
                "text": "smoke detector zone 4",
                "lat": 47.1,
                "lon": 9.5,
                "address": "Städtle 1",
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["offered_to"] is None
        detail = (
            await app.http.get(f"/api/v1/telephony/calls/{r.json()['call_id']}", headers=taker)
        ).json()
        assert detail["kind"] == "alarm"
        assert detail["state"] == "queued"
        assert detail["report"]["address"] == "Städtle 1"
        calls = await app.http.get("/api/v1/telephony/calls/alarm-999", headers=taker)
        assert calls.status_code == 404


async def test_a_waiting_alarm_is_offered_when_a_seat_comes_back(
    live: LiveApp, two_takers: Any
) -> None:
    alice, bob = two_takers
    for who, seat in ((alice, SEAT1), (bob, SEAT2)):
        r = await live.http.post(
            "/api/v1/telephony/seats/pause",
            headers=who,
            json={"interface": seat, "reason": "break"},
        )
        assert r.status_code == 202
    await until(lambda: seat_state(live, SEAT1) == "paused" and seat_state(live, SEAT2) == "paused")
    r = await live.http.post(
        "/api/v1/telephony/intake/alarm",
        headers=alice,
        json={"source": "sensor-12", "text": "CO level high", "lat": 47.2, "lon": 9.55},
    )
    assert r.status_code == 201
    assert r.json()["offered_to"] is None
    call_id = r.json()["call_id"]
    token = alice["Authorization"].split()[1]
    async with websockets.connect(
        f"{live.ws_url}/api/v1/telephony/ws?seat={SEAT1}&token={token}"
    ) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        r = await live.http.post(
            "/api/v1/telephony/seats/resume", headers=alice, json={"interface": SEAT1}
        )
        assert r.status_code == 202
        pop = await next_pop(ws)
        assert pop["call"]["id"] == call_id
        assert pop["report"]["body"] == "CO level high"
        assert pop["location"]["lat"] == 47.2
    r = await live.http.post(
        f"/api/v1/telephony/reports/{call_id}/accept", headers=bob, json={"interface": SEAT2}
    )
    assert r.status_code == 409  # offered to alice's seat, not bob's
    r = await live.http.post(
        f"/api/v1/telephony/reports/{call_id}/accept", headers=alice, json={"interface": SEAT1}
    )
    assert r.status_code == 202
    r = await live.http.post(f"/api/v1/telephony/reports/{call_id}/complete", headers=alice)
    assert r.status_code == 202
    detail = (await live.http.get(f"/api/v1/telephony/calls/{call_id}", headers=alice)).json()
    assert [t["to_state"] for t in detail["transitions"]] == [
        "queued",
        "offered",
        "answered",
        "completed",
        "ended",
    ]


async def test_demo_simulator_feeds_the_bridge(database_url: str) -> None:
    from command.calltaking.demo_switch import start_demo_simulator
    from command.settings import Settings

    settings, stop = await start_demo_simulator(
        Settings(database_url=database_url), seats=["Local/1001@agents"], calls_per_minute=600
    )
    try:
        async with serve(
            database_url, ami_port=settings.ami_port, ami_secret=settings.ami_secret
        ) as app:
            svc = app.container.telephony
            await svc.bridge.wait_ready(10)
            assert svc.health.status == "ok"
            await until(lambda: len(svc.bridge.tracker.calls) > 0)
            assert "Local/1001@agents" in svc.bridge.tracker.seats
    finally:
        await stop()


async def test_the_pop_finds_a_caller_however_the_number_was_written(
    live: LiveApp, sim: AmiSimulator, two_takers: tuple[dict[str, str], dict[str, str]]
) -> None:
    alice, bob = two_takers
    svc = service(live)
    sim.originate_caller("+423 777 0025", "First", hold_for=600, talk=0.2)
    await until(lambda: any(c.number == "+4237770025" for c in svc.bridge.tracker.calls.values()))
    first = next(c.id for c in svc.bridge.tracker.calls.values() if c.number == "+4237770025")
    await until(lambda: first not in svc.bridge.tracker.calls)
    await svc.bridge.flush()
    r = await live.http.post("/api/v1/telephony/seats/pause", headers=bob,
                             json={"interface": SEAT2, "reason": "break"})
    assert r.status_code == 202
    await until(lambda: seat_state(live, SEAT2) == "paused")
    token = alice["Authorization"].split()[1]
    async with websockets.connect(
            f"{live.ws_url}/api/v1/telephony/ws?seat={SEAT1}&token={token}") as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        sim.originate_caller("00423 777 0025", "Again", hold_for=600, talk=600)
        pop = await next_pop(ws)
    assert pop["caller"]["number"] == "+4237770025"
    assert [c["id"] for c in pop["earlier_calls"]] == [first]
