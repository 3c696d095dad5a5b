"""The test builders' one-time codes are still accepted when a busy machine checks them late:
a code chosen one second before its step ended once failed a sign-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from command.auth import totp
from tests.support.builders import TOTP_MARGIN, TOTP_SECRET, totp_step

BOUNDARY = datetime(2026, 12, 3, 7, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("before_boundary_s", [29.0, 15.0, 1.0, 0.1])
@pytest.mark.parametrize("last", [None, "previous"])
def test_a_chosen_code_is_accepted_now_and_a_margin_later(
    before_boundary_s: float, last: str | None
) -> None:
    at = BOUNDARY - timedelta(seconds=before_boundary_s)
    last_step = None if last is None else totp.step_at(at) - 2
    code = totp.hotp(totp.key_of(TOTP_SECRET), totp_step(at, last_step))
    for checked in (at, at + TOTP_MARGIN):
        assert totp.matching_step(TOTP_SECRET, code, checked, last_step) is not None, checked


def test_a_used_step_is_not_chosen_again() -> None:
    at = BOUNDARY - timedelta(seconds=20)
    first = totp_step(at, None)
    assert totp_step(at, first) == first + 1
    assert totp_step(at, first) <= totp.step_at(at) + totp.DRIFT_STEPS  # still accepted now
