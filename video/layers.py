"""Which simulcast layer a viewer receives: browsers send their video in three layers (full,
half and quarter size), and the SFU forwards one of them to each viewer.

The viewer chooses a ceiling (``layer`` in its ``subscribe`` frame: a leader on a phone asks
for ``low``); below it, the SFU's reports of a slow link to that viewer (the viewer asks again
for many packets) step it down one layer at once, and a quiet spell steps it up again one
layer at a time, so that a link that recovers gets its picture back without flapping. Pure:
the caller passes the time.
"""

from __future__ import annotations

from dataclasses import dataclass

#: layer names in the protocol, lowest first; a layer's number is its SFU substream
LAYERS = ("low", "medium", "high")
LOW, HIGH = 0, len(LAYERS) - 1
#: seconds without a slow link before stepping up one layer
RECOVER_S = 10.0


@dataclass
class LayerChoice:
    """One viewer's layer: its ceiling, what it gets now, and when its link was last slow."""

    ceiling: int = HIGH
    current: int = HIGH
    last_slow: float | None = None
    recover_s: float = RECOVER_S

    def choose(self, ceiling: int) -> int | None:
        """The viewer's ceiling; the new layer when it changes what it gets."""
        self.ceiling = ceiling
        wanted = min(self.current, ceiling) if self.last_slow is not None else ceiling
        return self._move(wanted)

    def slow(self, now: float) -> int | None:
        """The SFU says the link to this viewer is slow: one layer down (the new layer)."""
        self.last_slow = now
        return self._move(max(LOW, self.current - 1))

    def tick(self, now: float) -> int | None:
        """Time passes: after a quiet spell, one layer up toward the ceiling (the new layer)."""
        if self.current >= self.ceiling:
            return None
        if self.last_slow is not None and now - self.last_slow < self.recover_s:
            return None
        # The next step up waits for another quiet spell.
        self.last_slow = now
        return self._move(self.current + 1)

    def _move(self, layer: int) -> int | None:
        if layer == self.current:
            return None
        self.current = layer
        return layer
