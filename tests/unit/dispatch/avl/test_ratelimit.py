"""The token bucket: a burst at once, then the steady rate."""

from __future__ import annotations

import pytest

from dispatch.avl.ratelimit import TokenBucket


def test_a_burst_passes_then_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_s() == pytest.approx(0.5)
    assert not bucket.take(100.4)
    assert bucket.take(100.5)
    # idle time refills up to the burst, no more
    assert [bucket.take(200.0) for _ in range(4)] == [True, True, True, False]
