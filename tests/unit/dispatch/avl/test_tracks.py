"""Tracks for playback: simplified within a tolerance, stops and ends kept, jumps left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.avl.tracks import TrackPoint, feature, simplify, tolerance, window
from dispatch.errors import InvalidInput

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
M_LON = 1 / (111_320.0 * 0.6807)


def _p(seconds: float, east_m: float, north_m: float = 0.0, jump: bool = False) -> TrackPoint:
    return TrackPoint(
        lon=9.52 + east_m * M_LON,
        lat=47.14 + north_m / 110_574.0,
        at=T0 + timedelta(seconds=seconds),
        jump=jump,
    )


def test_a_straight_drive_keeps_its_ends_only() -> None:
    track = [_p(n, 10 * n) for n in range(100)]
    assert simplify(track) == [track[0], track[-1]]


def test_a_corner_is_kept() -> None:
    track = [_p(n, 10 * n) for n in range(50)] + [_p(50 + n, 490, 10 * n) for n in range(1, 50)]
    kept = simplify(track)
    assert track[49] in kept
    assert len(kept) == 3


def test_a_stop_is_kept_at_both_ends_and_jumps_are_dropped() -> None:
    track = [_p(n, 10 * n) for n in range(20)]
    track += [_p(20 + n, 195 + (n % 3)) for n in range(120)]  # waits two minutes
    track += [_p(140, 5000, jump=True)]
    track += [_p(141 + n, 200 + 10 * n) for n in range(20)]
    kept = simplify(track)
    seconds = [(p.at - T0).total_seconds() for p in kept]
    assert any(18 <= t <= 21 for t in seconds), seconds  # where the wait began
    assert any(138 <= t <= 142 for t in seconds), seconds  # and where it ended
    assert all(not p.jump for p in kept)
    assert len(kept) < 10


def test_feature_is_geojson_with_times() -> None:
    track = [_p(0, 0), _p(5, 50)]
    f = feature("E1", track)
    assert f["geometry"]["type"] == "LineString"
    assert len(f["geometry"]["coordinates"]) == 2
    assert f["properties"]["times"][1] == (T0 + timedelta(seconds=5)).isoformat()


def test_the_regions_projection_gives_the_same_shape() -> None:
    track = [_p(n, 10 * n) for n in range(50)] + [_p(50 + n, 490, 10 * n) for n in range(1, 50)]
    assert simplify(track, 5.0, epsg=32632) == simplify(track, 5.0)  # UTM 32N: Liechtenstein


def test_a_place_visited_many_times_is_kept_once_per_visit() -> None:
    track = [_p(n, 10 * n) for n in range(20)]
    track += [_p(20 + n, 190 + (n % 2)) for n in range(30)]  # jitters on the spot: no stop_s
    kept = simplify(track, tolerance_m=5.0, stop_s=3600)
    assert len(kept) <= 4, kept


def test_zero_tolerance_keeps_every_fix_but_jumps() -> None:
    track = [_p(0, 0), _p(1, 10), _p(2, 5000, jump=True), _p(3, 20), _p(4, 30)]
    assert simplify(track, 0) == [track[0], track[1], track[3], track[4]]


def test_the_window_defaults_to_the_last_day() -> None:
    w = window(None, None, T0, max_hours=168)
    assert (w.since, w.until) == (T0 - timedelta(hours=24), T0)
    assert window(None, None, T0, max_hours=6).since == T0 - timedelta(hours=6)
    until = T0 - timedelta(hours=1)
    assert window(None, until, T0, max_hours=168).since == until - timedelta(hours=24)


def test_bad_windows_are_refused_naming_the_rule() -> None:
    cases = [
        ((T0, T0), "track.window_reversed"),
        ((T0, T0 - timedelta(seconds=1)), "track.window_reversed"),
        ((T0 - timedelta(hours=169), T0), "track.window_too_long"),
        ((T0.replace(tzinfo=None), None), "track.time_zone_missing"),
        ((None, T0.replace(tzinfo=None)), "track.time_zone_missing"),
        ((None, datetime(1, 1, 1, tzinfo=UTC)), "track.time_out_of_range"),
        ((datetime(9999, 12, 31, tzinfo=UTC), None), "track.time_out_of_range"),
    ]
    for (since, until), code in cases:
        with pytest.raises(InvalidInput) as refused:
            window(since, until, T0, max_hours=168)
        assert refused.value.code == code


def test_the_tolerance_is_bounded() -> None:
    assert tolerance(0) == 0
    assert tolerance(1000) == 1000
    for bad in (-0.1, 1000.1, float("nan")):
        with pytest.raises(InvalidInput) as refused:
            tolerance(bad)
        assert refused.value.code == "track.tolerance_out_of_range"
