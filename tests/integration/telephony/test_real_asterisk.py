"""The bridge against a real Asterisk (the shared build, one process for this module).

Callers are Local channels originated into ``112@incoming`` (the fixture dialplan), seats are
``Local/<n>@agents`` that answer after a second and hang up after ``TALK`` seconds; a second AMI
session (``pbx``) watches what Asterisk really sends and plays the other clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from command.calltaking.service import TelephonyService
from telephony.ami_client import AmiClient
from telephony.ami_protocol import AmiMessage
from telephony.calls import Call
from telephony.tables import call_transitions, calls
from tests.support.asterisk import Asterisk, Installation
from tests.support.builders import signed_in
from tests.support.live import LiveApp, serve

SEAT1 = "Local/1001@agents"
SEAT2 = "Local/1002@agents"
SUPERVISOR = "Local/1009@external"
pytestmark = pytest.mark.slow


async def until(condition: Callable[[], bool], limit: float = 15.0) -> None:
    for _ in range(int(limit / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    assert condition(), "condition not reached in time"


@pytest.fixture(scope="module")
def asterisk(asterisk_install: Installation) -> Iterator[Asterisk]:
    made = asterisk_install.asterisk()
    made.start()
    yield made
    made.stop()


@dataclass
class Pbx:
    """A second AMI session: what Asterisk sends, and the other clients' actions."""

    asterisk: Asterisk
    client: AmiClient
    seen: list[AmiMessage]

    async def caller(self, number: str, hold_for: float = 60, talk: float = 60) -> None:
        answer = await self.client.send(
            "Originate", ("Variable", f"HOLDFOR={hold_for:g}"), ("Variable", f"__TALK={talk:g}"),
            Channel="Local/112@incoming", Context="caller", Exten="s", Priority="1",
            CallerID=f'"Caller" <{number}>', Async="true")
        assert answer.get("Response") == "Success", answer

    def events(self, name: str, **fields: str) -> list[AmiMessage]:
        return [m for m in self.seen if m.event == name
                and all(m.get(k) == v for k, v in fields.items())]

    async def channels(self) -> list[AmiMessage]:
        return (await self.client.send_list("CoreShowChannels")).items

    async def quiet(self) -> None:
        """No channels and no queue members left from an earlier test."""
        for _ in range(300):
            if not await self.channels():
                break
            await asyncio.sleep(0.05)
        status = await self.client.send_list("QueueStatus", Queue="emergency")
        for item in status.items:
            if item.event == "QueueMember":
                await self.client.send("QueueRemove", Queue="emergency",
                                       Interface=item.get("StateInterface") or item.get("Name"))


@pytest.fixture
async def pbx(asterisk: Asterisk) -> AsyncIterator[Pbx]:
    asterisk.start()  # a test may have stopped it
    seen: list[AmiMessage] = []
    client = await AmiClient.open("127.0.0.1", asterisk.port, "cad", asterisk.secret,
                                  lambda m, _: seen.append(m))
    made = Pbx(asterisk, client, seen)
    await made.quiet()
    yield made
    client.close()


@pytest.fixture
async def live(database_url: str, pbx: Pbx) -> AsyncIterator[LiveApp]:
    async with serve(database_url, ami_port=pbx.asterisk.port, ami_secret=pbx.asterisk.secret,
                     ami_recording_dir=str(pbx.asterisk.monitor_dir)) as app:
        await app.container.telephony.bridge.wait_ready(15)
        yield app


def service(app: LiveApp) -> TelephonyService:
    return app.container.telephony


def call_of(svc: TelephonyService, number: str) -> Call | None:
    return next((c for c in svc.bridge.tracker.calls.values() if c.number == number), None)


async def record(app: LiveApp, number: str) -> dict[str, Any]:
    await service(app).bridge.flush()
    async with app.container.engine.connect() as conn:
        found = (await conn.execute(sa.select(calls).where(calls.c.number == number))).all()
    assert len(found) == 1, found
    return dict(found[0]._mapping)


async def steps(app: LiveApp, call_id: str) -> list[tuple[str, dict[str, Any]]]:
    await service(app).bridge.flush()
    async with app.container.engine.connect() as conn:
        found = (await conn.execute(
            sa.select(call_transitions.c.to_state, call_transitions.c.detail)
            .where(call_transitions.c.call_id == call_id)
            .order_by(call_transitions.c.id))).all()
    return [(r.to_state, r.detail) for r in found]


async def ended(app: LiveApp, number: str) -> dict[str, Any]:
    for _ in range(400):
        row = None
        async with app.container.engine.connect() as conn:
            row = (await conn.execute(sa.select(calls).where(calls.c.number == number))).first()
        if row is not None and row.state == "ended":
            return dict(row._mapping)
        await asyncio.sleep(0.05)
    raise AssertionError(f"the call from {number} did not end")


async def sign_in(app: LiveApp, headers: dict[str, str], interface: str,
                  paused: bool = False) -> None:
    body: dict[str, Any] = {"interface": interface, "name": f"Seat {interface[6:10]}"}
    if paused:
        body |= {"paused": True, "reason": "break"}
    r = await app.http.post("/api/v1/telephony/seats/sign-in", headers=headers, json=body)
    assert r.status_code == 202, r.text
    seats = service(app).bridge.tracker.seats
    await until(lambda: interface in seats
                and seats[interface].state == ("paused" if paused else "available"))


async def test_a_call_is_queued_offered_answered_and_the_seat_hangs_up(
    live: LiveApp, pbx: Pbx
) -> None:
    svc = service(live)
    alice = await signed_in(live.http, live.container.engine, "alice", "call_taker")
    await sign_in(live, alice, SEAT1)
    await pbx.caller("+4237771001", hold_for=30, talk=2)
    row = await ended(live, "+4237771001")
    assert row["seat"] == SEAT1
    assert row["complete_reason"] == "agent"
    assert row["hold_time"] == 1  # Asterisk's own figures
    assert row["talk_time"] == 2
    done = await steps(live, row["id"])
    assert [s for s, _ in done] == ["queued", "offered", "answered", "completed", "ended"]
    assert done[3][1]["hung_up_by"] == "seat"
    assert svc.bridge.tracker.seats[SEAT1].state == "available"


async def test_the_caller_hangs_up_first(live: LiveApp, pbx: Pbx) -> None:
    alice = await signed_in(live.http, live.container.engine, "alice", "call_taker")
    await sign_in(live, alice, SEAT1)
    await pbx.caller("+4237771002", hold_for=3, talk=30)
    row = await ended(live, "+4237771002")
    assert row["complete_reason"] == "caller"
    done = await steps(live, row["id"])
    assert done[3] == ("completed", done[3][1])
    assert done[3][1]["hung_up_by"] == "caller"


async def test_a_paused_seat_gets_no_call_and_a_caller_gives_up(live: LiveApp, pbx: Pbx) -> None:
    svc = service(live)
    alice = await signed_in(live.http, live.container.engine, "alice", "call_taker")
    await sign_in(live, alice, SEAT1, paused=True)
    assert svc.bridge.tracker.seats[SEAT1].pause_reason == "break"
    await pbx.caller("+4237771003", hold_for=2, talk=30)
    row = await ended(live, "+4237771003")
    assert row["abandoned_at"] is not None
    assert row["answered_at"] is None
    assert [s for s, _ in await steps(live, row["id"])] == ["queued", "abandoned", "ended"]
    assert not pbx.events("AgentCalled")

    r = await live.http.post("/api/v1/telephony/seats/resume", headers=alice,
                             json={"interface": SEAT1})
    assert r.status_code == 202
    await until(lambda: svc.bridge.tracker.seats[SEAT1].state == "available")
    await pbx.caller("+4237771004", hold_for=30, talk=1)
    row = await ended(live, "+4237771004")
    assert row["seat"] == SEAT1
    assert row["answered_at"] is not None


async def test_call_actions_of_the_api(live: LiveApp, pbx: Pbx) -> None:
    svc = service(live)
    alice = await signed_in(live.http, live.container.engine, "alice", "call_taker")
    sue = await signed_in(live.http, live.container.engine, "sue", "supervisor")
    await sign_in(live, alice, SEAT1, paused=True)

    # grab a waiting call
    await pbx.caller("+4237772001", hold_for=60, talk=60)
    await until(lambda: call_of(svc, "+4237772001") is not None)
    first = call_of(svc, "+4237772001")
    assert first is not None
    r = await live.http.post(f"/api/v1/telephony/calls/{first.id}/grab", headers=alice,
                             json={"interface": SEAT1})
    assert r.status_code == 202, r.text
    assert first.state == "answered"
    assert first.seat == SEAT1
    # a real Asterisk reports the redirected caller as abandoning the queue: not for us
    await until(lambda: bool(pbx.events("QueueCallerAbandon", Uniqueid=first.id)))
    assert first.state == "answered"
    r = await live.http.post(f"/api/v1/telephony/calls/{first.id}/hangup", headers=alice)
    assert r.status_code == 202, r.text
    row = await ended(live, "+4237772001")
    assert row["seat"] == SEAT1
    assert row["abandoned_at"] is None
    assert "abandoned" not in [s for s, _ in await steps(live, row["id"])]

    # answered from the queue: listen-in, recording, blind transfer
    r = await live.http.post("/api/v1/telephony/seats/resume", headers=alice,
                             json={"interface": SEAT1})
    assert r.status_code == 202
    await pbx.caller("+4237772002", hold_for=60, talk=60)
    await until(lambda: (c := call_of(svc, "+4237772002")) is not None and c.state == "answered")
    talk = call_of(svc, "+4237772002")
    assert talk is not None
    r = await live.http.post(f"/api/v1/telephony/calls/{talk.id}/spy", headers=sue,
                             json={"supervisor": SUPERVISOR, "mode": "listen"})
    assert r.status_code == 202, r.text
    await until(lambda: bool(pbx.events("ChanSpyStart")))

    r = await live.http.post(f"/api/v1/telephony/calls/{talk.id}/recording/start", headers=alice)
    assert r.status_code == 201, r.text
    path = Path(r.json()["file"])
    await until(lambda: bool(pbx.events("MixMonitorStart", Uniqueid=talk.id)))
    r = await live.http.post(f"/api/v1/telephony/calls/{talk.id}/recording/stop", headers=alice)
    assert r.status_code == 200, r.text
    await until(lambda: bool(pbx.events("MixMonitorStop", Uniqueid=talk.id)))
    assert path.parent == pbx.asterisk.monitor_dir
    await until(path.exists)

    r = await live.http.post(f"/api/v1/telephony/calls/{talk.id}/transfer", headers=alice,
                             json={"exten": "2000", "context": "external"})
    assert r.status_code == 202, r.text
    await until(lambda: talk.state in ("transferred", "ended"))
    assert talk.transfer_target == "2000@external"
    await until(lambda: svc.bridge.tracker.seats[SEAT1].state == "available")

    # call back
    r = await live.http.post("/api/v1/telephony/callback", headers=alice,
                             json={"interface": SEAT1, "number": "+4237775555"})
    assert r.status_code == 202, r.text
    await until(lambda: bool(pbx.events("OriginateResponse", Exten="+4237775555")))
    assert pbx.events("OriginateResponse", Exten="+4237775555")[0]["Response"] == "Success"


async def test_link_cut_mid_call_and_asterisk_restarted(live: LiveApp, pbx: Pbx) -> None:
    svc = service(live)
    alice = await signed_in(live.http, live.container.engine, "alice", "call_taker")
    await sign_in(live, alice, SEAT1)
    await pbx.caller("+4237773001", hold_for=120, talk=120)
    await until(lambda: (c := call_of(svc, "+4237773001")) is not None and c.state == "answered")
    call = call_of(svc, "+4237773001")
    assert call is not None
    bridge = svc.bridge
    connects = bridge.stats.connects
    client = bridge._client
    assert client is not None
    assert client._transport is not None
    client._transport.abort()  # the link is cut: the bridge reconnects and resyncs
    await until(lambda: bridge.stats.connects > connects and bridge.connected)
    assert bridge.tracker.calls[call.id].state == "answered"
    assert bridge.tracker.seats[SEAT1].call == call.id

    pbx.client.close()
    pbx.asterisk.restart()  # every channel is gone; the bridge finds out on reconnect
    await until(lambda: bridge.stats.connects > connects + 1 and bridge.connected, 30)
    row = await ended(live, "+4237773001")
    assert row["seat"] == SEAT1
    assert [s for s, _ in await steps(live, row["id"])][-1] == "ended"
    assert bridge.health.status == "ok"
