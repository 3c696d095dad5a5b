"""Live positions to consoles: the current picture, each console's interest, and coalescing.

``Fanout`` keeps the latest position of every unit (from this process and, through the relay,
from every other) and one ``ConsoleFeed`` per connected console. A fix moves a unit's marker
only when it is newer by device time and not a flagged jump (``dispatch.avl.fixes.is_newer``),
so a late batch or a glitch never moves it backwards.

Each feed holds at most one pending position per unit: a newer one replaces the older one
(latest by device time wins). ``publish`` only touches these small dictionaries and wakes the
feeds; it never waits for a console, so a slow or stalled console keeps only the latest of each
unit and gets them when it catches up, while the others go on. With ``rate_hz`` 0 (the
default) a console gets each change as soon as its socket has taken the last batch: only what
arrives while it is busy is coalesced, so a quick console sees each position at once and a
slow one gets merged batches, never a backlog. With ``rate_hz`` above 0, ``take_due`` also
paces one console's batches: the first change after a quiet spell goes out at once, then at
most one batch per period.

A console's interest is a viewport (``BBox``) and/or a set of unit ids: a fix is of interest
when it lies in the viewport or is of one of the units (with neither, every unit). A unit that
leaves the viewport is sent once more, outside it, so that the console can take its marker off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from dispatch.avl.fixes import Fix, is_newer


@dataclass(frozen=True, slots=True)
class BBox:
    """A map viewport in WGS84 degrees, west <= east, south <= north."""

    west: float
    south: float
    east: float
    north: float

    def contains(self, lon: float, lat: float) -> bool:
        return self.west <= lon <= self.east and self.south <= lat <= self.north


@dataclass(frozen=True, slots=True)
class Interest:
    """What one console watches: a viewport, some units, both (either matches), or all."""

    bbox: BBox | None = None
    units: frozenset[str] | None = None

    @property
    def everything(self) -> bool:
        return self.bbox is None and self.units is None

    def wants(self, fix: Fix) -> bool:
        if self.everything:
            return True
        if self.units is not None and fix.unit_id in self.units:
            return True
        return self.bbox is not None and self.bbox.contains(fix.lon, fix.lat)


@dataclass(frozen=True, slots=True)
class Marker:
    """A unit's position as consoles get it: the fix and its wire form, encoded once for every
    console that gets it."""

    fix: Fix
    wire: str


def _no_wire(_fix: Fix) -> str:
    return ""


@dataclass(eq=False)
class ConsoleFeed:
    """One console's pending positions, at most one per unit, and its pacing."""

    rate_hz: float
    interest: Interest | None = None
    #: set whenever there is something for this console (positions or a reply to send)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    _pending: dict[str, Marker] = field(default_factory=dict)
    #: the units whose marker this console shows (sent and of interest when sent)
    _shown: set[str] = field(default_factory=set)
    _sent_at: float = -1e9
    #: positions replaced before this console took them (coalesced away)
    coalesced: int = 0

    def offer(self, marker: Marker) -> None:
        fix = marker.fix
        interest = self.interest
        if interest is None:
            return
        if not interest.wants(fix) and fix.unit_id not in self._shown:
            return
        current = self._pending.get(fix.unit_id)
        if current is not None:
            if fix.device_time <= current.fix.device_time:
                return
            self.coalesced += 1
        self._pending[fix.unit_id] = marker
        self.wake.set()

    def offer_moved(self, moved: list[Marker], newest: dict[str, Marker]) -> None:
        """Offer the positions that each moved their unit's marker, in order (``moved``), and
        the newest of them by unit (``newest``).

        Each is newer than anything pending for its unit, since whatever is pending moved the
        marker before it; so a console that watches every unit takes the newest at once.
        """
        interest = self.interest
        if interest is None:
            return
        if not interest.everything:
            for marker in moved:
                self.offer(marker)
            return
        pending = self._pending
        before = len(pending)
        pending.update(newest)
        self.coalesced += before + len(moved) - len(pending)
        self.wake.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def take(self) -> list[Marker]:
        """Everything pending, once; the units taken are now shown (or no longer, if they
        left the viewport)."""
        batch = list(self._pending.values())
        self._pending = {}
        interest = self.interest
        if interest is not None and interest.everything:
            return batch  # nothing can leave its view, so what it shows needs no keeping
        for marker in batch:
            if interest is not None and interest.wants(marker.fix):
                self._shown.add(marker.fix.unit_id)
            else:
                self._shown.discard(marker.fix.unit_id)
        return batch

    def reset(self, interest: Interest | None, shown: set[str]) -> None:
        """A new interest: nothing pending, ``shown`` on the console's map."""
        self.interest = interest
        self._pending = {}
        self._shown = shown

    def poke(self) -> None:
        self.wake.set()

    def due_in(self, now: float) -> float:
        """Seconds until this console may get its next batch (0: now)."""
        if self.rate_hz <= 0:
            return 0.0
        return max(0.0, self._sent_at + 1.0 / self.rate_hz - now)

    def take_due(self, now: float) -> list[Marker]:
        """What is pending, if the period since the last batch is over (else nothing)."""
        if self.due_in(now) > 0:
            return []
        batch = self.take()
        if batch:
            self._sent_at = now
        return batch


class Fanout:
    """Every unit's latest position and the feeds of this process's consoles."""

    def __init__(self, rate_hz: float = 0.0, encode: Callable[[Fix], str] = _no_wire) -> None:
        self.rate_hz = rate_hz
        self._encode = encode
        self._latest: dict[str, Marker] = {}
        self._feeds: set[ConsoleFeed] = set()

    @property
    def consoles(self) -> int:
        return len(self._feeds)

    def feeds(self) -> tuple[ConsoleFeed, ...]:
        return tuple(self._feeds)

    def latest(self, unit_id: str) -> Fix | None:
        marker = self._latest.get(unit_id)
        return None if marker is None else marker.fix

    def publish(self, fixes: Iterable[Fix]) -> list[Fix]:
        """Take positions in (from any process); hand those that move a marker to every
        interested console. Returns them, the newest of each unit (what the relay passes on)."""
        moved: list[Marker] = []
        for fix in fixes:
            current = self._latest.get(fix.unit_id)
            if not is_newer(None if current is None else current.fix, fix):
                continue
            # Encoded once for every console, and not at all while there is none.
            marker = Marker(fix, self._encode(fix) if self._feeds else "")
            self._latest[fix.unit_id] = marker
            moved.append(marker)
        if not moved:
            return []
        newest = {marker.fix.unit_id: marker for marker in moved}
        for feed in self._feeds:
            feed.offer_moved(moved, newest)
        return [marker.fix for marker in newest.values()]

    def attach(self) -> ConsoleFeed:
        """A new console, interested in nothing until it subscribes."""
        feed = ConsoleFeed(self.rate_hz)
        self._feeds.add(feed)
        return feed

    def detach(self, feed: ConsoleFeed) -> None:
        self._feeds.discard(feed)
        # What it still held (up to a position per unit, for a console that had stalled) goes
        # now, not with the session's cycles at the collector's next full collection.
        feed.reset(None, set())

    def subscribe(self, feed: ConsoleFeed, interest: Interest) -> list[Marker]:
        """Replace the feed's interest; returns the current picture within it (the snapshot),
        which stands for everything pending until now."""
        snapshot: list[Marker] = []
        for unit_id, marker in self._latest.items():
            if interest.wants(marker.fix):
                if not marker.wire:  # taken in while no console was connected
                    marker = self._latest[unit_id] = Marker(marker.fix, self._encode(marker.fix))
                snapshot.append(marker)
        feed.reset(interest, {m.fix.unit_id for m in snapshot})
        return snapshot

    def unsubscribe(self, feed: ConsoleFeed) -> None:
        feed.reset(None, set())

