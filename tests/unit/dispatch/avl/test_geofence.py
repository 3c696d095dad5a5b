"""Geofences in device-time order: jitter gives nothing, crossings are exact for any arrival
order within the tolerance, late fixes are counted and not fenced."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from shapely.geometry import box

from dispatch.avl.fixes import Fix
from dispatch.avl.geofence import Crossing, Fence, FenceWatch, Timeline, Watch

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LAT = 47.14
M_LON = 1 / (111_320.0 * 0.6807)  # degrees of longitude per metre at 47.14 N
SCENE = Fence("incident:1", Watch.ENTER, center=(9.52, LAT), radius_m=50.0)
ZONE = Fence("zone:3", Watch.ENTER, geometry=box(9.53, LAT - 0.01, 9.54, LAT + 0.01))
HOME = Fence("jurisdiction:7", Watch.EXIT, geometry=box(9.50, LAT - 0.05, 9.545, LAT + 0.05))


def _at(seconds: float, metres_east: float, seq: int | None = None, delay: float = 1.0) -> Fix:
    return Fix(
        unit_id="E1",
        lon=9.52 + metres_east * M_LON,
        lat=LAT,
        device_time=T0 + timedelta(seconds=seconds),
        received_at=T0 + timedelta(seconds=seconds + delay),
        source="terminal",
        seq=seq,
    )


def _drive() -> list[Fix]:
    """East from 400 m west of the scene, through it, into the zone and out of the
    jurisdiction: a fix every 2 s at 10 m/s, numbered."""
    return [_at(2 * n, -400 + 20 * n, seq=n) for n in range(200)]


def _crossings(fixes: list[Fix], arrivals: list[tuple[datetime, Fix]]) -> list[Crossing]:
    del fixes
    timeline = Timeline(tolerance_s=30.0)
    watch = FenceWatch("E1")
    watch.set_fences([SCENE, ZONE, HOME])
    out: list[Crossing] = []
    for now, fix in arrivals:
        for settled in timeline.add(fix, now):
            out += watch.feed(settled)
    for settled in timeline.release(T0 + timedelta(hours=1)):
        out += watch.feed(settled)
    return out


def _in_order(fixes: list[Fix]) -> list[tuple[datetime, Fix]]:
    return [(f.received_at, f) for f in fixes]


def test_a_drive_gives_each_crossing_once_dated_by_its_first_fix() -> None:
    fixes = _drive()
    got = [
        (c.fence_id, c.entered, (c.at - T0).total_seconds())
        for c in _crossings(fixes, _in_order(fixes))
    ]
    # Through the scene at 36 km/h (8 s inside its circle): passing by is no arrival. Into
    # the zone at lon 9.53 (x=760 m, n=58), out beyond it and its margin, then out of the
    # jurisdiction (lon 9.545 plus the margin).
    assert got == [
        ("zone:3", True, 116.0),
        ("zone:3", False, 196.0),
        ("jurisdiction:7", False, 234.0),
    ]


def test_a_unit_that_stops_at_the_scene_arrives() -> None:
    watch = FenceWatch("E1")
    watch.set_fences([SCENE])
    path = [_at(2 * n, -200 + 20 * n) for n in range(9)]  # to x=-40 at n=8
    path += [_at(16 + 2 * n, -40 + 5 * n) for n in range(1, 10)]  # slows to a stop at +5
    crossings = [c for f in path for c in watch.feed(f)]
    assert [(c.fence_id, c.entered, (c.at - T0).total_seconds()) for c in crossings] == [
        ("incident:1", True, 16.0)
    ]


def test_jitter_at_an_edge_gives_no_crossings() -> None:
    """A unit parked 45-55 m from the scene, GPS wandering across the 50 m circle."""
    watch = FenceWatch("E1")
    watch.set_fences([SCENE])
    crossings = []
    rng = random.Random(5)
    for n in range(300):
        d = 48 + rng.uniform(-4, 4) if n % 7 else 47.0
        crossings += watch.feed(_at(n, -d))
    # one arrival (it did come within 50 m and stayed near), never a leave
    assert [(c.fence_id, c.entered) for c in crossings] == [("incident:1", True)]


def test_an_offline_batch_in_any_order_gives_the_crossings_of_the_true_path() -> None:
    fixes = _drive()
    truth = _crossings(fixes, _in_order(fixes))
    rng = random.Random(20261201)
    for _ in range(20):
        # The terminal was offline from fix 10 to fix 120; it sends the buffer on reconnect,
        # shuffled (several batches), after the live fixes started again.
        live = [(f.received_at, f) for f in fixes[:10] + fixes[120:]]
        buffered = fixes[10:120]
        rng.shuffle(buffered)
        back = T0 + timedelta(seconds=2 * 121 + 3)
        batch = [
            (t, replace(f, received_at=t))
            for i, f in enumerate(buffered)
            if (t := back + timedelta(milliseconds=i))
        ]
        arrivals = sorted(live + batch, key=lambda a: a[0])
        assert _crossings(fixes, arrivals) == truth


def test_unnumbered_fixes_out_of_order_within_the_tolerance_give_the_true_path() -> None:
    fixes = [_at(2 * n, -400 + 20 * n, delay=1.0 + (7 if n % 5 == 0 else 0)) for n in range(120)]
    truth = _crossings(
        fixes, sorted(((f.received_at, f) for f in fixes), key=lambda a: a[1].device_time)
    )
    arrivals = sorted(((f.received_at, f) for f in fixes), key=lambda a: a[0])
    assert arrivals != sorted(arrivals, key=lambda a: a[1].device_time)  # really out of order
    assert _crossings(fixes, arrivals) == truth
    assert truth  # the path crosses fences


def test_a_fix_later_than_the_tolerance_is_counted_not_fenced() -> None:
    timeline = Timeline(tolerance_s=30.0)
    first = _at(0, 0)
    second = _at(10, 0)
    assert timeline.add(first, first.received_at) == []
    assert timeline.release(first.received_at + timedelta(seconds=31)) == [first]
    timeline.add(second, second.received_at)
    assert timeline.release(second.received_at + timedelta(seconds=31)) == [second]
    stale = _at(5, 0, delay=60)
    assert timeline.add(stale, stale.received_at) == []
    assert timeline.late == 1
    assert timeline.pending == 0


def test_numbered_fixes_settle_at_once_and_a_gap_waits_for_the_tolerance() -> None:
    timeline = Timeline(tolerance_s=30.0)
    a, b, d = _at(0, 0, seq=1), _at(2, 0, seq=2), _at(6, 0, seq=4)
    assert timeline.add(a, a.received_at) == []  # nothing known before it: wait
    assert timeline.release(a.received_at + timedelta(seconds=30)) == [a]
    assert timeline.add(b, b.received_at) == [b]  # follows: at once
    assert timeline.add(d, d.received_at) == []  # 3 is missing
    c = _at(4, 0, seq=3, delay=5)
    assert timeline.add(c, c.received_at) == [c, d]
    e = _at(10, 0, seq=6)
    assert timeline.add(e, e.received_at) == []
    assert timeline.release(e.received_at + timedelta(seconds=30)) == [e]


def test_a_replayed_fix_is_taken_once() -> None:
    timeline = Timeline(tolerance_s=0.0)
    a = _at(0, 0, seq=1)
    assert timeline.add(a, a.received_at) == [a]
    assert timeline.add(a, a.received_at) == []
    assert timeline.late == 1
