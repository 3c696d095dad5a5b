"""Tracks for playback: simplified within a tolerance, stops and ends kept, jumps left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch.avl.tracks import TrackPoint, feature, simplify

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
