"""Waiting on a condition in the benchmarks, with a bound, by polling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(condition: Callable[[], bool], limit: float, step: float) -> bool:
    """Poll ``condition`` every ``step`` seconds for at most ``limit`` seconds."""
    for _ in range(max(int(limit / step), 1)):
        if condition():
            return True
        await asyncio.sleep(step)
    return condition()
