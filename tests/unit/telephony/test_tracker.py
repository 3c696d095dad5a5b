"""The tracker turns the real Asterisk 22 transcripts into exactly their story."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from telephony.ami_protocol import AmiMessage
from telephony.calls import CallTransitioned
from telephony.seats import SeatChanged
from telephony.tracker import DomainEvent, Tracker

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "ami"
T0 = datetime(2026, 11, 21, 22, 54, tzinfo=UTC)


def run(name: str) -> tuple[Tracker, list[DomainEvent]]:
    now = [T0]
    tracker = Tracker(queues=["emergency"], clock=lambda: now[0])
    events: list[DomainEvent] = []
    for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["dir"] != "in" or "msg" not in rec:
            continue
        now[0] = T0 + timedelta(seconds=rec["t"])
        msg = AmiMessage(tuple((k, v) for k, v in rec["msg"]))
        if msg.action_id and msg.event is not None and msg.event != "OriginateResponse":
            continue  # list items belong to the capture client's own actions
        events.extend(tracker.apply(msg))
    return tracker, events


def transitions(events: list[DomainEvent], call_id: str) -> list[str]:
    return [e.to_state for e in events if isinstance(e, CallTransitioned) and e.call.id == call_id]


def test_busy_has_three_calls_two_answered_one_abandoned() -> None:
    tracker, events = run("busy")
    ended = {
        e.call.number or "": e.call
        for e in events
        if isinstance(e, CallTransitioned) and e.to_state == "ended"
    }
    assert sorted(ended) == ["+4237772000", "+4237772001", "+4237772002"]
    first, second, third = (ended[n] for n in sorted(ended))
    assert (first.seat, first.hold_time, first.talk_time) == ("Local/1001@agents", 1, 4)
    assert first.complete_reason == "agent"
    assert second.seat is None
    assert second.abandoned_at is not None
    assert second.hold_time == 3
    assert (third.seat, third.hold_time, third.talk_time) == ("Local/1002@agents", 5, 4)
    assert transitions(events, first.id) == ["queued", "offered", "answered", "completed", "ended"]
    assert transitions(events, second.id) == ["queued", "abandoned", "ended"]
    assert transitions(events, third.id) == ["queued", "offered", "answered", "completed", "ended"]
    assert tracker.calls == {}


def test_busy_seat_1002_paused_for_break_then_resumed() -> None:
    _, events = run("busy")
    changes = [
        (e.change, e.detail.get("reason"))
        for e in events
        if isinstance(e, SeatChanged) and e.seat.interface == "Local/1002@agents"
    ]
    assert changes[:3] == [("signed_in", None), ("paused", "break"), ("resumed", "break")]
    assert changes[-1] == ("signed_out", None)


def test_basic_answer_time_is_measured_from_arrival() -> None:
    _, events = run("basic")
    answered = next(
        e for e in events if isinstance(e, CallTransitioned) and e.to_state == "answered"
    )
    assert answered.call.number == "+4237771001"
    assert answered.call.hold_time == 1
    assert answered.call.answered_at is not None
    waited = (answered.call.answered_at - answered.call.queued_at).total_seconds()
    assert waited == pytest.approx(1.0, abs=0.01)


def test_garbage_and_missing_fields_are_skipped() -> None:
    tracker = Tracker(queues=["emergency"])
    assert tracker.apply(AmiMessage.of(Event="AgentConnect", Queue="emergency")) == []
    assert tracker.apply(AmiMessage.of(Event="QueueCallerJoin", Queue="emergency")) == []
    assert tracker.apply(AmiMessage.of(Event="NoSuchEvent", Foo="bar")) == []
    assert tracker.apply(AmiMessage.of(Event="AgentComplete", Interface="X/1")) == []
    assert tracker.skipped == 3
    joined = tracker.apply(
        AmiMessage.of(Event="QueueCallerJoin", Queue="emergency", Uniqueid="1.1", Position="x")
    )
    assert [e.type for e in joined] == ["call.queued"]
