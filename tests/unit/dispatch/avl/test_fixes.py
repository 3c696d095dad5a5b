"""Checking a reported position, flagging impossible jumps, and the latest-position rule."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.avl.fixes import Datum, Fix, FixRejected, Reported, check, is_newer, judge
from gis.coords import wgs84_to_gcj02

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
VADUZ = (9.5209, 47.1410)  # lon, lat


def _fix(seconds: float, lon: float = VADUZ[0], lat: float = VADUZ[1]) -> Fix:
    return check(
        Reported(lat=lat, lon=lon, device_time=NOW + timedelta(seconds=seconds)),
        "E1",
        NOW + timedelta(seconds=seconds + 1),
        "terminal",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lat": 95.0}, "lat"),
        ({"lon": float("nan")}, "lon"),
        ({"lat": math.inf}, "lat"),
        ({"accuracy_m": -3.0}, "accuracy"),
        ({"heading_deg": 400.0}, "heading"),
        ({"speed_mps": float("nan")}, "speed"),
        ({"device_time": NOW + timedelta(minutes=10)}, "time"),
        ({"device_time": datetime(2026, 12, 1, 12, 0)}, "time"),  # no time zone
    ],
)
def test_impossible_input_is_refused_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    base: dict[str, object] = {"lat": VADUZ[1], "lon": VADUZ[0], "device_time": NOW}
    reported = Reported(**{**base, **changes})  # type: ignore[arg-type]
    with pytest.raises(FixRejected) as refused:
        check(reported, "E1", NOW, "terminal")
    assert refused.value.field == field
    assert refused.value.code in {
        "position.not_a_number",
        "position.out_of_range",
        "position.time_in_future",
        "position.time_zone_missing",
    }
    assert refused.value.params["field"] == field
    assert refused.value.kind == "invalid"


def test_a_time_before_the_unit_existed_is_refused() -> None:
    with pytest.raises(FixRejected, match="before the unit existed"):
        check(
            Reported(lat=VADUZ[1], lon=VADUZ[0], device_time=NOW - timedelta(days=3)),
            "E1",
            NOW,
            "terminal",
            unit_since=NOW - timedelta(days=1),
        )


def test_gcj02_is_converted_to_wgs84_on_arrival() -> None:
    # A point in Beijing as a Chinese map app reports it.
    lon, lat = 116.3975, 39.9087
    glon, glat = wgs84_to_gcj02(lon, lat)
    fix = check(
        Reported(lat=glat, lon=glon, device_time=NOW, datum=Datum.GCJ02), "E1", NOW, "terminal"
    )
    assert fix.lon == pytest.approx(lon, abs=1e-5)
    assert fix.lat == pytest.approx(lat, abs=1e-5)
    assert (glon, glat) != pytest.approx((lon, lat), abs=1e-4)  # the offset is real


def test_a_glitch_is_flagged_and_does_not_move_the_marker() -> None:
    a = _fix(0)
    glitch = judge(a, None, _fix(5, lon=VADUZ[0] + 0.5))  # 38 km in 5 s
    assert glitch.jump
    assert not is_newer(a, glitch)
    back = judge(a, glitch, _fix(10, lon=VADUZ[0] + 0.0005))
    assert not back.jump
    assert is_newer(a, back)


def test_a_real_move_after_a_gap_does_not_freeze_the_marker() -> None:
    """Two fixes that agree with each other are a move, however far from the last one."""
    a = _fix(0)
    far1 = judge(a, None, _fix(60, lon=VADUZ[0] + 0.3))
    assert far1.jump
    far2 = judge(a, far1, _fix(65, lon=VADUZ[0] + 0.3005))
    assert not far2.jump
    assert is_newer(a, far2)


def test_a_late_fix_never_moves_the_marker_back() -> None:
    latest = _fix(100)
    late = _fix(50, lon=VADUZ[0] + 0.001)
    assert not judge(latest, None, late).jump
    assert not is_newer(latest, late)
    assert is_newer(latest, _fix(101))
