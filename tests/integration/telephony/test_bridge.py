"""The bridge against the simulator over real TCP, persisting into a real database."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from telephony.ami_client import AmiClient
from telephony.ami_protocol import AmiMessage
from telephony.bridge import Bridge
from telephony.simulator import AmiSimulator
from telephony.tables import call_transitions, calls, recordings
from tests.integration.telephony.conftest import FIXTURES, service
from tests.support.live import LiveApp
from tests.support.waiting import until


async def rows(app: LiveApp) -> list[dict[str, object]]:
    async with app.container.engine.connect() as conn:
        result = await conn.execute(sa.select(calls).order_by(calls.c.number))
        return [dict(r._mapping) for r in result]


async def test_replaying_busy_yields_its_three_calls(live: LiveApp, sim: AmiSimulator) -> None:
    sent = await sim.replay(FIXTURES / "busy.jsonl", speed=None)
    assert sent == 229  # the unsolicited events of the transcript
    svc = service(live)
    await until(lambda: svc.bridge.stats.applied >= sent)

    async def ended() -> list[dict[str, object]]:
        return [r for r in await rows(live) if r["state"] == "ended"]

    for _ in range(200):
        if len(await ended()) == 3:
            break
        await asyncio.sleep(0.05)
    found = await rows(live)
    assert [r["number"] for r in found] == ["+4237772000", "+4237772001", "+4237772002"]
    first, second, third = found
    assert (first["seat"], first["hold_time"], first["talk_time"]) == ("Local/1001@agents", 1, 4)
    assert second["abandoned_at"] is not None
    assert second["answered_at"] is None
    assert second["hold_time"] == 3
    assert (third["seat"], third["hold_time"], third["talk_time"]) == ("Local/1002@agents", 5, 4)
    assert all(r["state"] == "ended" for r in found)
    async with live.container.engine.connect() as conn:
        steps = (
            (
                await conn.execute(
                    sa.select(call_transitions.c.to_state)
                    .where(call_transitions.c.call_id == second["id"])
                    .order_by(call_transitions.c.id)
                )
            )
            .scalars()
            .all()
        )
    assert steps == ["queued", "abandoned", "ended"]


async def test_bridge_restart_mid_two_live_calls(live: LiveApp, sim: AmiSimulator) -> None:
    svc = service(live)
    sim.add_member("Local/1001@agents", "Seat 1001")
    sim.add_member("Local/1002@agents", "Seat 1002")
    sim.originate_caller("+4237773000", "First", hold_for=600, talk=600)
    sim.originate_caller("+4237773001", "Second", hold_for=600, talk=600)
    await until(lambda: sum(c.state == "answered" for c in svc.bridge.tracker.calls.values()) == 2)
    before = {c.id: c.seat for c in svc.bridge.tracker.calls.values()}
    assert sorted(str(s) for s in before.values()) == ["Local/1001@agents", "Local/1002@agents"]

    # our side restarts: a new bridge with an empty picture, same database
    await svc.bridge.stop()
    fresh = Bridge(svc.config.ami, svc, svc.clock)
    svc.bridge = fresh
    await fresh.start()
    await fresh.wait_ready(10)
    assert {c.id: c.seat for c in fresh.tracker.live_calls()} == before
    assert all(c.state == "answered" and c.recovered for c in fresh.tracker.calls.values())

    # Asterisk's side drops us: reconnect and resync again, nothing lost
    await sim.drop_clients()
    await until(lambda: not fresh.connected, 5)
    await fresh.wait_ready(10)
    assert {c.id: c.seat for c in fresh.tracker.live_calls()} == before

    for call_id in before:
        await fresh.hangup(call_id)
    await until(lambda: not fresh.tracker.calls)
    await fresh.flush()
    async with live.container.engine.connect() as conn:
        for call_id in before:
            steps = (
                (
                    await conn.execute(
                        sa.select(call_transitions.c.to_state)
                        .where(call_transitions.c.call_id == call_id)
                        .order_by(call_transitions.c.id)
                    )
                )
                .scalars()
                .all()
            )
            assert steps == ["queued", "offered", "answered", "completed", "ended"], steps
    await fresh.stop()


async def test_garbled_lines_and_unknown_events_are_skipped(
    live: LiveApp, sim: AmiSimulator
) -> None:
    svc = service(live)
    for session in sim.sessions:
        session.send(
            b"this line has no colon\r\nEvent: SomethingNew\r\nFoo: bar\r\n\r\n"
            b"Event: AgentConnect\r\nQueue: emergency\r\n\r\n"
            b"\xff\xfe: \x00\r\n\r\n"
        )
    sim.add_member("Local/1001@agents", "Seat 1001")
    sim.originate_caller("+4237774000", "After garbage", hold_for=600, talk=0.2)
    await until(
        lambda: any(
            r == "+4237774000" for r in [c.number for c in svc.bridge.tracker.calls.values()]
        )
    )
    client = svc.bridge._client
    assert client is not None
    assert client.skipped_lines >= 1
    assert svc.bridge.tracker.skipped >= 1
    assert svc.bridge.health.status == "ok"


async def test_caller_location_from_a_channel_variable(live: LiveApp, sim: AmiSimulator) -> None:
    svc = service(live)
    sim.originate_caller(
        "+4237776100",
        "Located",
        hold_for=600,
        talk=600,
        variables={"CALLER_LOCATION": "47.1412,9.5215,25"},
    )
    sim.originate_caller(
        "+4237776101",
        "Nonsense",
        hold_for=600,
        talk=600,
        variables={"CALLER_LOCATION": "north,east"},
    )
    await until(
        lambda: (
            sum(
                c.number in ("+4237776100", "+4237776101")
                for c in svc.bridge.tracker.calls.values()
            )
            == 2
        )
    )
    by_number = {c.number: c for c in svc.bridge.tracker.calls.values()}
    assert by_number["+4237776100"].location == (47.1412, 9.5215, 25.0)
    assert by_number["+4237776101"].location is None
    assert svc.bridge.tracker.skipped >= 2  # the nonsense value, on both halves
    await svc.bridge.flush()
    async with live.container.engine.connect() as conn:
        found = (
            await conn.execute(
                sa.text("SELECT number, lat, lon, accuracy_m, source FROM caller_locations")
            )
        ).all()
    assert [tuple(r) for r in found] == [("+4237776100", 47.1412, 9.5215, 25.0, "channel")]


async def test_a_seat_that_does_not_answer_passes_the_call_on(
    live: LiveApp, sim: AmiSimulator
) -> None:
    svc = service(live)
    sim.speed = 20.0  # the 10 s ring timeout of queues.conf takes 0.5 s
    sim.add_member("Local/1001@agents", "Seat 1001")
    sim.add_member("Local/1002@agents", "Seat 1002")
    sim.set_answering("Local/1001@agents", False)
    sim.originate_caller("+4237776200", "Rings out", hold_for=600, talk=600)
    await until(
        lambda: any(
            c.number == "+4237776200" and c.state == "answered"
            for c in svc.bridge.tracker.calls.values()
        )
    )
    call = next(c for c in svc.bridge.tracker.calls.values() if c.number == "+4237776200")
    assert call.seat == "Local/1002@agents"
    assert svc.bridge.tracker.seats["Local/1001@agents"].state == "available"
    await svc.bridge.flush()
    async with live.container.engine.connect() as conn:
        steps = (
            await conn.execute(
                sa.select(call_transitions.c.to_state, call_transitions.c.seat)
                .where(call_transitions.c.call_id == call.id)
                .order_by(call_transitions.c.id)
            )
        ).all()
    assert [tuple(s) for s in steps] == [
        ("queued", None), ("offered", "Local/1001@agents"), ("queued", "Local/1001@agents"),
        ("offered", "Local/1002@agents"), ("answered", "Local/1002@agents")]


async def test_the_simulator_sends_what_a_real_asterisk_sends_for_a_redirect_and_a_recording(
    live: LiveApp, sim: AmiSimulator
) -> None:
    svc = service(live)
    seen: list[AmiMessage] = []
    other = await AmiClient.open("127.0.0.1", sim.port, "cad", "cadsecret",
                                 lambda m, _: seen.append(m))
    try:
        sim.add_member("Local/1001@agents", "Seat 1001")
        sim.originate_caller("+4237776300", "Redirected", hold_for=600, talk=1.5)
        await until(lambda: any(c.number == "+4237776300" and c.state == "answered"
                                for c in svc.bridge.tracker.calls.values()))
        call = next(c for c in svc.bridge.tracker.calls.values() if c.number == "+4237776300")
        assert call.channel is not None
        await other.call("MixMonitor", Channel=call.channel, File="/rec/panel.wav")
        await other.call("Redirect", Channel=call.channel, Context="external", Exten="2000",
                         Priority="1")
        await until(lambda: call.state == "transferred")
        assert svc.bridge.tracker.seats["Local/1001@agents"].call is None
        await until(lambda: call.id not in svc.bridge.tracker.calls)
        assert not [m for m in seen if m.event == "BlindTransfer"]
        complete = [m for m in seen if m.event == "AgentComplete"]
        assert complete[0]["Interface"] == "Local/1001@agents"
        await svc.bridge.flush()
        async with live.container.engine.connect() as conn:
            row = (await conn.execute(sa.select(calls).where(calls.c.id == call.id))).one()
            files = (await conn.execute(sa.select(recordings.c.file).where(
                recordings.c.call_id == call.id))).scalars().all()
        assert row.transfer_target == "2000@external"
        assert row.talk_time is not None
        assert row.talk_time <= float(complete[0]["TalkTime"])
        assert files == ["/rec/panel.wav"]
    finally:
        other.close()
