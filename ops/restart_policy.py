"""When to restart a child that exited, and when to give up: a pure policy, no I/O.

A child that dies is restarted at once the first time, then after a delay that doubles with
each quick death in a row (a child that ran ``stable_after_s`` counts as healthy again). More
than ``max_restarts`` deaths inside ``window_s`` means it cannot be helped by restarting: the
supervisor gives up on it and says so. Times are seconds of a monotonic clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class RestartPolicy:
    first_delay_s: float = 0.0
    base_delay_s: float = 0.25
    max_delay_s: float = 8.0
    factor: float = 2.0
    max_restarts: int = 10
    window_s: float = 60.0
    stable_after_s: float = 10.0


@dataclass(frozen=True)
class History:
    """A child's deaths so far: when they were (inside the window) and how many quick ones in a
    row."""

    deaths: tuple[float, ...] = ()
    quick_in_a_row: int = 0
    restarts: int = 0


@dataclass(frozen=True)
class Decision:
    action: Literal["restart", "give_up"]
    delay_s: float
    history: History


def decide(policy: RestartPolicy, history: History, started_at: float, died_at: float) -> Decision:
    """What to do about a child started at ``started_at`` that died at ``died_at``."""
    deaths = (*(t for t in history.deaths if died_at - t < policy.window_s), died_at)
    ran_s = died_at - started_at
    quick = 0 if ran_s >= policy.stable_after_s else history.quick_in_a_row + 1
    if len(deaths) > policy.max_restarts:
        return Decision("give_up", 0.0, History(deaths, quick, history.restarts))
    if quick <= 1:
        delay = policy.first_delay_s
    else:
        delay = min(policy.max_delay_s, policy.base_delay_s * policy.factor ** (quick - 2))
    return Decision("restart", delay, History(deaths, quick, history.restarts + 1))
