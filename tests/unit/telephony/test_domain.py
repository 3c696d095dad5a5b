"""Calls, seats and statistics as pure state machines and functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telephony.calls import Call, CallState
from telephony.errors import Conflict
from telephony.seats import Seat, interface_of
from telephony.stats import CallFact, PauseFact, by_queue, by_seat, percentile

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_call_walks_its_states_with_times() -> None:
    call, first = Call.arrive("1.5", "emergency", at(0), number="+4237772000")
    assert first.to_state == "queued"
    assert call.offer("Local/1001@agents", at(0.1)).to_state == "offered"
    assert call.answer("Local/1001@agents", at(1.2)).call.hold_time == 1.2
    done = call.complete(at(5.2), "agent", talk_time=4)
    assert (done.call.talk_time, done.call.complete_reason) == (4, "agent")
    assert call.end(at(5.3), 16).call.state == "ended"
    with pytest.raises(Conflict, match="ended"):
        call.answer("Local/1002@agents", at(6))


def test_ring_out_goes_back_to_queue_and_abandon_is_not_answered() -> None:
    call, _ = Call.arrive("2.1", "emergency", at(0))
    call.offer("Local/1001@agents", at(0))
    assert call.ring_out(at(10)).to_state == "queued"
    assert call.seat is None
    abandoned = call.abandon(at(12), hold_time=12)
    assert abandoned.call.answered_at is None
    assert call.state == CallState.ABANDONED
    with pytest.raises(Conflict):
        call.complete(at(13), "agent")


def test_seat_states() -> None:
    seat = Seat("Local/1002@agents", "Seat 1002")
    assert seat.state == "signed_out"
    assert [e.change for e in seat.join("emergency", at(0), paused=True, reason="break")] == [
        "signed_in",
        "paused",
    ]
    assert seat.state == "paused"
    assert seat.pause("break", at(1)) == []
    resumed = seat.resume(at(61))
    assert resumed[0].detail == {"reason": "break", "paused_seconds": 61.0}
    seat.ring("c1", at(62))
    assert seat.state == "ringing"
    seat.connect("c1", at(63))
    assert seat.state == "on_call"
    seat.release("c1", at(70))
    assert [e.change for e in seat.leave("emergency", at(80))] == ["signed_out"]
    assert interface_of("Local/1001@agents-0000000a;1") == "Local/1001@agents"
    assert interface_of("PJSIP/1001-00000003") == "PJSIP/1001"


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 90) is None
    assert percentile([5.0], 90) == 5.0
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 90) == 9.0
    assert percentile(values, 100) == 10.0
    with pytest.raises(ValueError, match="outside"):
        percentile(values, 0)


def test_queue_and_seat_figures() -> None:
    facts = [
        CallFact("a", "emergency", "S1", True, False, 1.0, 4.0),
        CallFact("b", "emergency", None, False, True, None, None),
        CallFact("c", "emergency", "S2", True, False, 5.0, 4.0),
    ]
    queue = by_queue(facts)["emergency"]
    assert (queue.offered, queue.answered, queue.abandoned) == (3, 2, 1)
    assert (queue.answer_avg, queue.answer_p90, queue.talk_total) == (3.0, 5.0, 8.0)
    seats = by_seat(facts, [PauseFact("S2", 3.5, "break"), PauseFact("S2", 1.5, "break")])
    assert seats["S1"].answered == 1
    assert seats["S2"].pause_total == 5.0
    assert seats["S2"].pause_by_reason == {"break": 5.0}
