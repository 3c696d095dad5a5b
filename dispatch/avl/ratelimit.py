"""A token bucket per device: a steady rate with a burst, so a flooding terminal is answered
with an error frame instead of work, and the others never wait for it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenBucket:
    """``rate`` messages a second on average, ``burst`` at once; times in seconds (monotonic)."""

    rate: float
    burst: float
    tokens: float = -1.0
    at: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Whether a message costing ``cost`` may pass at ``now`` (it is counted if so)."""
        if self.tokens < 0:
            self.tokens, self.at = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def wait_s(self, cost: float = 1.0) -> float:
        """How long until ``cost`` would pass."""
        return max(0.0, (cost - self.tokens) / self.rate)
