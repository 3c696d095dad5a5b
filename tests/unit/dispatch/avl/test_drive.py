"""A vehicle along a route's line: where it is after a distance, its heading, the way back."""

from __future__ import annotations

import pytest

from dispatch.avl.drive import Path, bearing_deg, plausible_speed_mps
from gis.coords import distance_m

LINE = [(9.50, 47.10), (9.51, 47.10), (9.51, 47.11)]


def test_positions_follow_the_line_and_stop_at_its_end() -> None:
    path = Path(LINE)
    first = distance_m(*LINE[0], *LINE[1])
    assert path.length_m == pytest.approx(first + distance_m(*LINE[1], *LINE[2]), rel=0.005)
    half = path.at(first / 2)
    assert (half.lon, half.lat) == pytest.approx((9.505, 47.10), abs=1e-4)
    assert half.heading_deg == pytest.approx(90, abs=0.1)
    assert not half.arrived
    turned = path.at(first + 10)
    assert turned.heading_deg == pytest.approx(0, abs=0.1)
    end = path.at(path.length_m + 500)
    assert end.arrived
    assert (end.lon, end.lat) == LINE[-1]


def test_the_way_back_retraces_what_was_driven() -> None:
    path = Path(LINE)
    back = path.reversed_until(path.length_m - 100)
    assert back.points[-1] == LINE[0]
    assert back.points[1] == LINE[1]
    assert back.length_m == pytest.approx(path.length_m - 100, rel=0.01)


def test_speeds_stay_plausible() -> None:
    assert plausible_speed_mps(1000, 100) == 10
    assert plausible_speed_mps(1000, 10) == 22
    assert plausible_speed_mps(10, 100) == 8
    assert plausible_speed_mps(10, 0) == 8
    assert bearing_deg((9.5, 47.1), (9.5, 47.1)) == 0
