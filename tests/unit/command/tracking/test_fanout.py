"""The console fan-out: interest, coalescing per unit, snapshots and pacing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from command.tracking.fanout import BBox, Fanout, Interest
from dispatch.avl.fixes import Fix

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
VADUZ = BBox(9.50, 47.12, 9.54, 47.15)


def fix(unit: str, lon: float, lat: float, s: float = 0.0, jump: bool = False) -> Fix:
    at = T0 + timedelta(seconds=s)
    return Fix(unit, lon, lat, at, at, "terminal", jump=jump)


def test_a_console_gets_only_the_latest_of_each_unit_by_device_time() -> None:
    fanout = Fanout()
    feed = fanout.attach()
    fanout.subscribe(feed, Interest())
    fanout.publish([fix("E1", 9.52, 47.13, 1), fix("E1", 9.521, 47.13, 3)])
    fanout.publish([fix("E1", 9.6, 47.2, 2)])  # late: the marker does not go back
    fanout.publish([fix("L2", 9.51, 47.14, 1)])
    batch = {m.fix.unit_id: m.fix for m in feed.take()}
    assert set(batch) == {"E1", "L2"}
    assert batch["E1"].lon == 9.521
    assert feed.coalesced == 1
    assert feed.take() == []


def test_a_flagged_jump_is_not_sent_and_does_not_move_the_marker() -> None:
    fanout = Fanout()
    feed = fanout.attach()
    fanout.subscribe(feed, Interest())
    fanout.publish([fix("E1", 9.52, 47.13, 1), fix("E1", 12.0, 50.0, 2, jump=True)])
    [sent] = [m.fix for m in feed.take()]
    assert sent.lon == 9.52
    assert fanout.latest("E1") == sent


def test_viewport_and_units_select_what_a_console_gets() -> None:
    fanout = Fanout()
    in_view, by_unit, anything = fanout.attach(), fanout.attach(), fanout.attach()
    fanout.subscribe(in_view, Interest(bbox=VADUZ))
    fanout.subscribe(by_unit, Interest(units=frozenset({"far"})))
    fanout.subscribe(anything, Interest(bbox=VADUZ, units=frozenset({"far"})))
    fanout.publish([fix("near", 9.52, 47.13, 1), fix("far", 9.60, 47.25, 1), fix("x", 9.7, 47.0)])
    assert [m.fix.unit_id for m in in_view.take()] == ["near"]
    assert [m.fix.unit_id for m in by_unit.take()] == ["far"]
    assert sorted(m.fix.unit_id for m in anything.take()) == ["far", "near"]


def test_a_unit_leaving_the_viewport_is_sent_once_more_then_no_longer() -> None:
    fanout = Fanout()
    feed = fanout.attach()
    fanout.subscribe(feed, Interest(bbox=VADUZ))
    fanout.publish([fix("E1", 9.52, 47.13, 1)])
    assert len(feed.take()) == 1
    fanout.publish([fix("E1", 9.70, 47.13, 2)])  # out of view: its last place, to remove it
    assert [m.fix.lon for m in feed.take()] == [9.70]
    fanout.publish([fix("E1", 9.71, 47.13, 3)])
    assert feed.take() == []


def test_subscribing_answers_the_current_picture_and_replaces_what_was_pending() -> None:
    fanout = Fanout()
    fanout.publish([fix("near", 9.52, 47.13, 1), fix("far", 9.60, 47.25, 1)])
    feed = fanout.attach()
    assert feed.take() == []  # nothing before it subscribes
    snapshot = fanout.subscribe(feed, Interest(bbox=VADUZ))
    assert [m.fix.unit_id for m in snapshot] == ["near"]
    fanout.publish([fix("near", 9.53, 47.13, 2)])
    again = fanout.subscribe(feed, Interest())
    assert sorted((m.fix.unit_id, m.fix.lon) for m in again) == [("far", 9.60), ("near", 9.53)]
    assert feed.take() == []
    fanout.unsubscribe(feed)
    fanout.publish([fix("near", 9.54, 47.13, 3)])
    assert feed.take() == []


def test_a_detached_console_is_no_longer_fed() -> None:
    fanout = Fanout()
    feed = fanout.attach()
    fanout.subscribe(feed, Interest())
    fanout.publish([fix("L2", 9.51, 47.14, 1)])  # pending, never taken: the console stalled
    fanout.detach(feed)
    assert feed.pending == 0  # let go at once
    fanout.publish([fix("E1", 9.52, 47.13, 1)])
    assert feed.take() == []
    assert fanout.consoles == 0


def test_unpaced_each_change_goes_at_once_and_only_what_waits_is_coalesced() -> None:
    fanout = Fanout()
    feed = fanout.attach()
    fanout.subscribe(feed, Interest())
    for s in range(1, 4):
        fanout.publish([fix("E1", 9.52, 47.13, s)])
        assert feed.due_in(100.0) == 0
        [marker] = feed.take_due(100.0)  # the socket was free: sent as it came
        assert marker.fix.device_time == T0 + timedelta(seconds=s)
    # while the socket is busy, a unit's positions wait as one: the latest
    for s in range(4, 8):
        fanout.publish([fix("E1", 9.52, 47.13, s), fix("E2", 9.53, 47.13, s)])
    batch = feed.take_due(100.0)
    assert sorted((m.fix.unit_id, m.fix.device_time) for m in batch) == [
        ("E1", T0 + timedelta(seconds=7)), ("E2", T0 + timedelta(seconds=7))
    ]
    assert feed.coalesced == 6


def test_batches_are_paced_and_coalesce_what_arrives_meanwhile() -> None:
    fanout = Fanout(rate_hz=2.0)
    feed = fanout.attach()
    fanout.subscribe(feed, Interest())
    fanout.publish([fix("E1", 9.52, 47.13, 1)])
    assert feed.due_in(100.0) == 0
    first = feed.take_due(100.0)  # the first change after a quiet spell goes at once
    assert [m.fix.device_time for m in first] == [T0 + timedelta(seconds=1)]
    for s in range(2, 6):
        fanout.publish([fix("E1", 9.52 + s / 1000, 47.13, s)])
    assert feed.due_in(100.2) == pytest.approx(0.3)
    assert feed.take_due(100.2) == []  # within the period: held, coalesced
    second = feed.take_due(100.5)
    assert [m.fix.device_time for m in second] == [T0 + timedelta(seconds=5)]
    assert feed.coalesced == 3
    assert feed.take_due(101.0) == []


def test_each_position_is_encoded_once_whatever_the_number_of_consoles() -> None:
    encoded: list[str] = []

    def encode(f: Fix) -> str:
        encoded.append(f.unit_id)
        return f.unit_id

    fanout = Fanout(encode=encode)
    feeds = [fanout.attach() for _ in range(50)]
    for feed in feeds:
        fanout.subscribe(feed, Interest())
    fanout.publish([fix("E1", 9.52, 47.13, 1)])
    assert encoded == ["E1"]
    assert all([m.wire for m in feed.take()] == ["E1"] for feed in feeds)


def test_one_publish_reaches_a_console_of_every_unit_and_a_viewport_console_alike() -> None:
    fanout = Fanout()
    everything, in_view = fanout.attach(), fanout.attach()
    fanout.subscribe(everything, Interest())
    fanout.subscribe(in_view, Interest(bbox=VADUZ))
    fanout.publish([fix("E1", 9.52, 47.13, 1), fix("far", 9.60, 47.25, 1)])
    moved = fanout.publish(
        [fix("E1", 9.521, 47.13, 2), fix("E1", 9.522, 47.13, 3), fix("E1", 9.4, 47.0, 2.5)]
    )
    assert [(f.unit_id, f.lon) for f in moved] == [("E1", 9.522)]  # what the relay passes on
    assert {m.fix.unit_id: m.fix.lon for m in everything.take()} == {"E1": 9.522, "far": 9.60}
    assert everything.coalesced == 2
    assert {m.fix.unit_id: m.fix.lon for m in in_view.take()} == {"E1": 9.522}
    assert in_view.coalesced == 2
    # The viewport console still takes a unit's marker off once it leaves.
    fanout.publish([fix("E1", 9.60, 47.25, 4)])
    assert [m.fix.lon for m in in_view.take()] == [9.60]
    fanout.publish([fix("E1", 9.61, 47.25, 5)])
    assert in_view.take() == []
    assert [m.fix.lon for m in everything.take()] == [9.61]
