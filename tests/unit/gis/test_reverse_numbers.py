"""House-number estimation along a street (the pure part of reverse geocoding)."""

from __future__ import annotations

import pytest

from gis.reverse import NumberedPoint, estimate_house_number, leading_number, numbers_rise_along

# A street with odd numbers on the left (+1) and even on the right (-1), rising along the line.
STREET = [
    NumberedPoint(0.1, 1, 1),
    NumberedPoint(0.3, 5, 1),
    NumberedPoint(0.7, 13, 1),
    NumberedPoint(0.1, 2, -1),
    NumberedPoint(0.5, 10, -1),
    NumberedPoint(0.9, 20, -1),
]


@pytest.mark.parametrize(
    ("position", "side", "expected"),
    [
        (0.1, 1, 1),  # on an address
        (0.2, 1, 3),  # halfway between 1 and 5
        (0.5, 1, 9),  # halfway between 5 and 13
        (0.6, 1, 11),
        (0.3, -1, 6),  # between 2 and 10, even side
        (0.7, -1, 16),  # 10 + 0.5 * (20 - 10) = 15, odd: the even neighbour above
        (0.95, -1, 22),  # beyond the last even number: extrapolated, kept even
        (0.0, 1, 1),  # before the first: extrapolated, never below 1
    ],
)
def test_interpolates_on_the_same_side_keeping_parity(
    position: float, side: int, expected: int
) -> None:
    assert estimate_house_number(position, side, STREET) == expected


def test_side_parity_is_kept_for_every_position() -> None:
    for step in range(101):
        position = step / 100
        left = estimate_house_number(position, 1, STREET)
        right = estimate_house_number(position, -1, STREET)
        assert left is not None
        assert right is not None
        assert left % 2 == 1
        assert right % 2 == 0


def test_estimates_grow_along_the_street() -> None:
    values = [estimate_house_number(step / 20, 1, STREET) for step in range(21)]
    assert values == sorted(values)  # type: ignore[type-var]


def test_falls_back_to_both_sides_when_one_side_has_too_few_numbers() -> None:
    sparse = [NumberedPoint(0.2, 4, -1), NumberedPoint(0.8, 16, -1), NumberedPoint(0.5, 9, 1)]
    # Left has one number only: use all three, no parity rule.
    assert estimate_house_number(0.38, 1, sparse) == 7  # 4 + 0.6 * (9 - 4)


def test_no_numbers_no_estimate() -> None:
    assert estimate_house_number(0.5, 1, []) is None


def test_single_number() -> None:
    assert estimate_house_number(0.9, 1, [NumberedPoint(0.5, 7, 1)]) == 7


def test_numbers_falling_along_the_line() -> None:
    falling = [NumberedPoint(0.0, 30, 1), NumberedPoint(1.0, 10, 1)]
    assert estimate_house_number(0.5, 1, falling) == 20
    assert numbers_rise_along(falling) is False
    assert numbers_rise_along(STREET) is True
    assert numbers_rise_along(STREET[:1]) is None


@pytest.mark.parametrize(
    ("text", "number"), [("12", 12), ("12a", 12), ("12-14", 12), (" 7 b", 7), ("a1", None)]
)
def test_leading_number(text: str, number: int | None) -> None:
    assert leading_number(text) == number
