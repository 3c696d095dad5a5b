"""Waiting on a condition in the tests: polled, bounded, never a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], bool], limit: float = 30.0) -> None:
    """Return as soon as ``condition()`` holds; fail the test if it does not within ``limit`` s."""
    for _ in range(int(limit / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    assert condition(), "condition not reached in time"
