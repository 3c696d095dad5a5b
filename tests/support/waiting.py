"""Waiting on a condition in the tests: polled, bounded, never a fixed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(condition: Callable[[], bool], limit: float = 30.0) -> None:
    """Return as soon as ``condition()`` holds; fail the test if it does not within ``limit`` s."""
    for _ in range(int(limit / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    assert condition(), "condition not reached in time"


def waited(
    condition: Callable[[], bool], limit: float = 30.0, why: Callable[[], str] = lambda: ""
) -> float:
    """The blocking form, for tests that drive processes rather than an event loop: the seconds
    it took ``condition()`` to hold; fail the test, with ``why()``, if not within ``limit`` s."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < limit, f"condition not reached in time {why()}"
        time.sleep(0.02)
    return time.monotonic() - started
