"""The console tracking websocket, over real websockets on the real app: snapshot, viewport,
coalescing, bad frames, and a stalled console that does not hold back another."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from sqlalchemy.ext.asyncio import AsyncEngine

from command.tracking.messages import SERVER_FRAME
from tests.support.live import LiveApp, serve
from tests.support.tracking import console, console_token, fix, frame, subscribe

VADUZ = [9.50, 47.12, 9.54, 47.15]


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[LiveApp]:
    async with serve(database_url, ami_enabled=False, tracking_rate_hz=20.0) as live:
        yield live


async def test_a_console_without_a_valid_token_is_refused(app: LiveApp) -> None:
    async with console(app, "nope") as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_subscribing_answers_the_current_picture_at_once(
    app: LiveApp, engine: AsyncEngine
) -> None:
    await app.container.relay.publish([fix("E1", 9.52, 47.13, 1), fix("E1", 9.525, 47.13, 2)])
    await app.container.relay.publish([fix("L2", 9.60, 47.25, 1)])
    token = await console_token(app, engine, "d1")
    async with console(app, token) as ws:
        snapshot = await subscribe(ws)
    SERVER_FRAME.validate_python({"type": "snapshot", "positions": snapshot})
    by_unit = {p["unit_id"]: p for p in snapshot}
    assert sorted(by_unit) == ["E1", "L2"]
    assert by_unit["E1"]["lon"] == 9.525
    assert by_unit["E1"]["speed"] == 12.5
    # A console that comes back gets the same picture again, at once.
    async with console(app, token) as ws:
        assert sorted(p["unit_id"] for p in await subscribe(ws, bbox=VADUZ)) == ["E1"]


async def test_a_viewport_console_gets_only_what_is_in_view(
    app: LiveApp, engine: AsyncEngine
) -> None:
    token = await console_token(app, engine, "d2")
    async with console(app, token) as in_view, console(app, token) as by_unit:
        assert await subscribe(in_view, bbox=VADUZ) == []
        assert await subscribe(by_unit, units=["far"]) == []
        await app.container.relay.publish([fix("far", 9.60, 47.25, 1)])
        await app.container.relay.publish([fix("near", 9.52, 47.13, 1)])
        seen = await frame(in_view)
        assert seen["type"] == "positions"
        assert [p["unit_id"] for p in seen["positions"]] == ["near"]
        got = await frame(by_unit)
        assert [p["unit_id"] for p in got["positions"]] == ["far"]


async def test_positions_that_arrive_within_a_period_are_coalesced_to_the_latest(
    database_url: str, engine: AsyncEngine
) -> None:
    async with serve(database_url, ami_enabled=False, tracking_rate_hz=1.0) as live:
        token = await console_token(live, engine, "d3")
        async with console(live, token) as ws:
            await subscribe(ws)
            await live.container.relay.publish([fix("E1", 9.52, 47.13, 1)])
            first = await frame(ws)  # the first change after a quiet spell goes at once
            assert [p["time"] for p in first["positions"]] == [fix("E1", 0, 0, 1).device_time
                                                                .isoformat()]
            for s in range(2, 7):
                await live.container.relay.publish([fix("E1", 9.52 + s / 1e4, 47.13, s)])
            await live.container.relay.publish([fix("E1", 9.6, 47.13, 3)])  # late: not sent
            second = await frame(ws)
        [only] = second["positions"]
        assert only["lon"] == pytest.approx(9.5206)
        assert only["time"] == fix("E1", 0, 0, 6).device_time.isoformat()


async def test_bad_frames_are_answered_with_the_field_and_the_connection_stays_open(
    app: LiveApp, engine: AsyncEngine
) -> None:
    token = await console_token(app, engine, "d4")
    bad: list[tuple[str | bytes, str, str]] = [
        ("not json", "tracking.frame_not_json", "frame"),
        (b"\x00\x01", "tracking.frame_binary", "frame"),
        (json.dumps({"type": "zoom"}), "tracking.message_invalid", "type"),
        (json.dumps({"bbox": VADUZ}), "tracking.message_invalid", "type"),
        (json.dumps({"type": "subscribe", "bbox": [1, 2]}), "tracking.message_invalid", "bbox.2"),
        (
            json.dumps({"type": "subscribe", "bbox": [9.5, 95, 9.6, 47]}),
            "tracking.message_invalid",
            "bbox.1",
        ),
        (
            json.dumps({"type": "subscribe", "bbox": [9.6, 47, 9.5, 47.1]}),
            "tracking.message_invalid",
            "bbox",
        ),
        (json.dumps({"type": "subscribe", "units": "E1"}), "tracking.message_invalid", "units"),
        (json.dumps({"type": "subscribe", "colour": 1}), "tracking.message_invalid", "colour"),
    ]
    async with console(app, token) as ws:
        for sent, code, field in bad:
            await ws.send(sent)
            answer = await frame(ws)
            SERVER_FRAME.validate_python(answer)
            assert (answer["type"], answer["code"]) == ("error", code), sent
            assert answer["field"] == field, answer
            assert answer["message"]
        # Nothing changed, and the connection still works.
        await app.container.relay.publish([fix("E1", 9.52, 47.13, 1)])
        assert [p["unit_id"] for p in await subscribe(ws)] == ["E1"]


async def test_after_unsubscribing_a_console_gets_nothing_until_it_subscribes_again(
    app: LiveApp, engine: AsyncEngine
) -> None:
    token = await console_token(app, engine, "d5")
    async with console(app, token) as ws:
        await subscribe(ws)
        await ws.send(json.dumps({"type": "unsubscribe"}))
        await ws.send("{")  # answered in order: the unsubscribe has been handled before it
        assert (await frame(ws))["type"] == "error"
        await app.container.relay.publish([fix("E1", 9.52, 47.13, 1)])
        # The first frame after subscribing again is its snapshot, not a positions batch.
        assert [p["unit_id"] for p in await subscribe(ws, units=["E1"])] == ["E1"]


UNITS = 2000


async def _read_round(ws: Any, latest: dict[str, float], until: float) -> None:
    """Read until every unit's latest is at ``until`` (device seconds); check the order."""
    while sum(1 for s in latest.values() if s >= until) < UNITS:
        got = await frame(ws)
        for p in got["positions"]:
            s = float(p["lon"]) * 1000 - 9500  # the round, carried in the longitude
            assert s >= latest.get(p["unit_id"], -1), "a marker went backwards"
            latest[p["unit_id"]] = s


async def test_a_stalled_console_does_not_hold_back_another_and_catches_up_with_the_latest(
    app: LiveApp, engine: AsyncEngine
) -> None:
    token = await console_token(app, engine, "d6")
    fanout = app.container.fanout

    def batch(r: int) -> list[Any]:
        return [fix(f"U{u:04d}", 9.5 + r / 1000, 47.13, r) for u in range(UNITS)]

    # The stalled console reads nothing: its socket fills, and its writer blocks on it.
    # (Uncompressed, so that the socket fills soon: these frames deflate very well.)
    async with (
        console(app, token, max_queue=1, compression=None) as stalled,
        console(app, token, compression=None) as live,
    ):
        await subscribe(stalled, bbox=[-180, -90, 180, 90])  # tells its feed from the other
        await subscribe(live)
        seen: dict[str, float] = {}

        def stalled_feed() -> Any:
            [feed] = [f for f in fanout.feeds() if f.interest and f.interest.bbox]
            return feed

        r = 0
        held = 0  # rounds in a row in which the stalled console's writer took nothing
        # Rounds go on until the stalled console is really behind: its writer is blocked on
        # its socket for rounds on end, its feed holding one position per unit, the latest;
        # the live console gets every round meanwhile.
        while held < 3:
            r += 1
            assert r < 400, "the stalled console never fell behind"
            await app.container.relay.publish(batch(r))
            await _read_round(live, seen, r)
            held = held + 1 if stalled_feed().pending == UNITS else 0
        # Once it reads again, it gets the latest of every unit.
        caught: dict[str, float] = {}
        await _read_round(stalled, caught, r)
        assert set(caught) == set(seen)
        assert stalled_feed().coalesced > 0
