"""The vehicle agent's policy: when it tries again, and when it gives up for good."""

from __future__ import annotations

from video.agent import FINAL, Backoff, final


def test_the_first_try_after_a_drop_is_at_once_then_backing_off_to_the_most() -> None:
    backoff = Backoff(first_s=0.25, most_s=5.0)
    assert [backoff.delay(n) for n in range(8)] == [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_refusals_are_final_and_drops_are_not() -> None:
    # not invited or removed, no such consultation, ended, connected elsewhere, bad token
    assert all(final(code) for code in (4401, 4403, 4404, 4409, 4410))
    assert set(FINAL) == {4401, 4403, 4404, 4409, 4410}
    # the server restarting, the media server away, a link that dropped with no close frame
    assert not any(final(code) for code in (1001, 1006, 1011, 1012, 1013, None))
