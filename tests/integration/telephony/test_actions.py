"""Call-centre actions from the consoles, seen on a second AMI session as Asterisk would show
them: listen-in/whisper by ChanSpy, grab, attended transfer, call back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from command.tables import audit_log
from telephony.ami_client import AmiClient
from telephony.ami_protocol import AmiMessage
from telephony.simulator import AmiSimulator
from tests.integration.telephony.conftest import service
from tests.support.builders import signed_in
from tests.support.live import LiveApp
from tests.support.waiting import until

SEAT1 = "Local/1001@agents"
SEAT2 = "Local/1002@agents"


async def watcher(sim: AmiSimulator) -> tuple[AmiClient, list[AmiMessage]]:
    seen: list[AmiMessage] = []
    client = await AmiClient.open(
        "127.0.0.1", sim.port, "cad", "cadsecret", lambda m, _: seen.append(m)
    )
    return client, seen


async def test_spy_grab_attended_transfer_and_call_back(live: LiveApp, sim: AmiSimulator) -> None:
    svc = service(live)
    client, seen = await watcher(sim)
    try:
        alice = await signed_in(live.http, live.container.engine, "alice", "call_taker")
        sue = await signed_in(live.http, live.container.engine, "sue", "supervisor")
        r = await live.http.post(
            "/api/v1/telephony/seats/sign-in",
            headers=alice,
            json={"interface": SEAT1, "paused": True, "reason": "paperwork"},
        )
        assert r.status_code == 202
        await until(
            lambda: (
                SEAT1 in svc.bridge.tracker.seats
                and svc.bridge.tracker.seats[SEAT1].state == "paused"
            )
        )

        # a waiting call is grabbed by the paused seat
        sim.originate_caller("+4237778000", "Waiting", hold_for=600, talk=600)
        await until(
            lambda: any(c.number == "+4237778000" for c in svc.bridge.tracker.calls.values())
        )
        call = next(c for c in svc.bridge.tracker.calls.values() if c.number == "+4237778000")
        await until(lambda: call.state == "queued" and call.channel is not None)
        r = await live.http.post(
            f"/api/v1/telephony/calls/{call.id}/grab", headers=alice, json={"interface": SEAT1}
        )
        assert r.status_code == 202, r.text
        assert call.state == "answered"
        assert call.seat == SEAT1
        await until(lambda: any(m.event == "QueueCallerLeave" and m.get("Uniqueid") == call.id
                                for m in seen))
        # as a real Asterisk, the redirected caller abandons the queue: still answered here
        assert any(m.event == "QueueCallerAbandon" and m.get("Uniqueid") == call.id
                   for m in seen)
        assert call.state == "answered"

        # a call taken from the queue normally, then listened to and transferred attended
        r = await live.http.post(
            "/api/v1/telephony/seats/resume", headers=alice, json={"interface": SEAT1}
        )
        assert r.status_code == 202
        sim.originate_caller("+4237778001", "Talking", hold_for=600, talk=600)
        await until(
            lambda: any(
                c.number == "+4237778001" and c.state == "answered"
                for c in svc.bridge.tracker.calls.values()
            )
        )
        talk = next(c for c in svc.bridge.tracker.calls.values() if c.number == "+4237778001")
        r = await live.http.post(
            f"/api/v1/telephony/calls/{talk.id}/spy",
            headers=alice,
            json={"supervisor": "Local/1009@agents", "mode": "listen"},
        )
        assert r.status_code == 403  # call-takers do not listen in
        r = await live.http.post(
            f"/api/v1/telephony/calls/{talk.id}/spy",
            headers=sue,
            json={"supervisor": "Local/1009@agents", "mode": "whisper"},
        )
        assert r.status_code == 202, r.text
        await until(lambda: any(m.event == "ChanSpyStart" for m in seen))
        spy = next(m for m in seen if m.event == "ChanSpyStart")
        assert talk.agent_channel is not None
        assert spy["SpyeeChannel"].startswith(talk.agent_channel.rsplit(";", 1)[0])
        assert spy["SpyerChannel"].startswith("Local/1009@agents")
        originate = next(
            m
            for m in seen
            if m.event == "OriginateResponse" and m.get("Channel") == spy["SpyerChannel"]
        )
        assert originate["Response"] == "Success"
        async with live.container.engine.connect() as conn:
            audited = (
                await conn.execute(
                    sa.select(audit_log.c.actor, audit_log.c.object_id, audit_log.c.detail).where(
                        audit_log.c.action == "telephony.spy"
                    )
                )
            ).all()
        assert [(a.actor, a.object_id, a.detail["mode"]) for a in audited] == [
            ("user:sue", talk.id, "whisper")
        ]

        r = await live.http.post(
            f"/api/v1/telephony/calls/{talk.id}/transfer",
            headers=alice,
            json={"exten": "1002", "context": "agents", "attended": True},
        )
        assert r.status_code == 202, r.text
        await until(lambda: talk.state == "transferred", 10)
        assert talk.transfer_target is not None
        assert talk.transfer_target.startswith("Local/1002@agents")

        # call back a number from the seat
        r = await live.http.post(
            "/api/v1/telephony/callback", headers=alice, json={"interface": SEAT1, "number": "12ab"}
        )
        assert r.status_code == 422
        r = await live.http.post(
            "/api/v1/telephony/callback",
            headers=alice,
            json={"interface": SEAT1, "number": "+4237779999"},
        )
        assert r.status_code == 202, r.text
        await until(
            lambda: any(
                m.event == "OriginateResponse" and m.get("Exten") == "+4237779999" for m in seen
            )
        )
        calls: list[dict[str, Any]] = (
            await live.http.get("/api/v1/telephony/calls", headers=sue)
        ).json()["calls"]
        assert {c["id"] for c in calls} >= {call.id}
    finally:
        client.close()
