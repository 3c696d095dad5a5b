"""The service's clock: real time, which tests move forward (lockouts, idle sessions, timers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Now, in UTC; one instance per container, handed to every part that tells time."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta
