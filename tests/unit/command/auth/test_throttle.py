"""The counters of failed sign-ins: windows, locks, and which wait wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from command.auth.throttle import Counter, Limit, Wait, after_failure, refusal

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
FIVE = Limit(failures=5, window=timedelta(minutes=10), lock=timedelta(minutes=10))


def _failures(n: int, limit: Limit = FIVE, every: timedelta = timedelta(seconds=1)) -> Counter:
    counter = None
    for i in range(n):
        counter = after_failure(counter, T0 + i * every, limit)
    assert counter is not None
    return counter


def test_the_fifth_failure_in_the_window_locks() -> None:
    assert _failures(4).locked_until is None
    locked = _failures(5)
    assert locked.locked_until == T0 + timedelta(seconds=4) + FIVE.lock
    assert refusal(None, locked, T0 + timedelta(minutes=5)) == Wait(
        seconds=int((locked.locked_until - (T0 + timedelta(minutes=5))).total_seconds()),
        scope="account",
    )
    assert refusal(None, locked, locked.locked_until) is None


def test_failures_spread_beyond_the_window_never_lock() -> None:
    counter = _failures(20, every=timedelta(minutes=3))
    assert counter.locked_until is None
    assert counter.failures < 5


def test_the_longer_wait_wins_and_says_which() -> None:
    now = T0
    source = Counter(30, T0, locked_until=T0 + timedelta(seconds=90))
    pair = Counter(5, T0, locked_until=T0 + timedelta(seconds=30))
    assert refusal(source, pair, now) == Wait(90, "source")
    assert refusal(None, pair, now) == Wait(30, "account")
    assert refusal(None, None, now) is None


def test_a_wait_is_at_least_a_second() -> None:
    pair = Counter(5, T0, locked_until=T0 + timedelta(milliseconds=10))
    assert refusal(None, pair, T0) == Wait(1, "account")
