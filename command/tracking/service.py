"""Taking positions in: check, order, keep the latest, store, relay, and fence.

``report`` is what the unit terminal protocol and the OsmAnd endpoint call, with what one
device sent (one fix or a buffered batch); it never waits for the database: what it returns
holds a future resolved once the fixes are committed, which is what the ack waits for. Each
fix is checked (``dispatch.avl.fixes.check``: refused fixes are answered with the field, and
nothing of them is stored), judged against the unit's latest position (impossible jumps are
flagged, not dropped), written through the ``PositionWriter`` and relayed to the consoles of
every process through the ``PositionRelay``; the newest by device time becomes the unit's
latest position. Settled fixes (device-time order, ``dispatch.avl.geofence.Timeline``) are
followed against the unit's fences: arriving at its
incident suggests on scene (or reports it, with ``arrival_sets_on_scene``), leaving its
jurisdiction or entering a hazard zone is an event for the dispatchers.

Positions never go through the incident event log; crossings do (they are rare). The per-unit
state lives in the process the unit's terminal is connected to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from command import events
from command.dispatching.unit_status import UnitStatusReports
from command.events import NewEvent
from command.tracking.fences import FenceBook
from command.tracking.ports import PositionRelay, PositionWriter
from dispatch.avl.fixes import Fix, FixPolicy, FixRejected, Reported, check, is_newer, judge
from dispatch.avl.geofence import Crossing, FenceWatch, Timeline
from dispatch.errors import Conflict as DispatchConflict
from dispatch.units import UnitStatus

log = logging.getLogger(__name__)

ACTOR = "system:geofence"


@dataclass(frozen=True)
class Refused:
    """One fix of a report that was not taken: its place in the report, the field, why."""

    index: int
    code: str
    field: str
    message: str
    params: dict[str, object]
    error: FixRejected | None = None


@dataclass(frozen=True)
class Taken:
    """What became of a report: how many fixes were taken in, the refused ones, and (when
    some were taken) the future resolved with how many were stored once they are committed."""

    accepted: int
    refused: list[Refused]
    latest: Fix | None
    stored: asyncio.Future[int] | None = None

    async def committed(self) -> int:
        """Wait until the fixes taken are committed; how many were stored."""
        return 0 if self.stored is None else await self.stored


@dataclass
class _Unit:
    latest: Fix | None = None
    suspect: Fix | None = None
    timeline: Timeline = field(default_factory=Timeline)
    watch: FenceWatch | None = None
    fence_generation: int = -1


@dataclass(frozen=True)
class TrackingPolicy:
    fixes: FixPolicy = field(default_factory=FixPolicy)
    tolerance_s: float = 30.0
    arrival_sets_on_scene: bool = False


class Tracking:
    """The tracking use cases, built once by the bootstrap."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], datetime],
        writer: PositionWriter,
        relay: PositionRelay,
        fences: FenceBook,
        unit_status: UnitStatusReports,
        policy: TrackingPolicy = TrackingPolicy(),
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.writer = writer
        self.relay = relay
        self.fences = fences
        self.unit_status = unit_status
        self.policy = policy
        self._units: dict[str, _Unit] = {}

    def latest(self, unit_id: str) -> Fix | None:
        state = self._units.get(unit_id)
        return None if state is None else state.latest

    def latest_all(self) -> dict[str, Fix]:
        return {u: s.latest for u, s in self._units.items() if s.latest is not None}

    async def report(
        self,
        unit_id: str,
        reports: Sequence[tuple[Reported, int | None]],
        source: str,
        unit_since: datetime | None = None,
    ) -> Taken:
        """Take in what one device sent for ``unit_id``: ``(position, its seq or None)``."""
        now = self.clock()
        state = self._units.setdefault(unit_id, _Unit(timeline=Timeline(self.policy.tolerance_s)))
        accepted: list[Fix] = []
        refused: list[Refused] = []
        checked: list[tuple[int, Fix]] = []
        for index, (reported, seq) in enumerate(reports):
            try:
                fix = check(
                    reported,
                    unit_id,
                    now,
                    source,
                    unit_since=unit_since,
                    seq=seq,
                    policy=self.policy.fixes,
                )
            except FixRejected as exc:
                refused.append(
                    Refused(index, exc.code, exc.field, exc.message, exc.params, exc)
                )
                continue
            checked.append((index, fix))
        # In device-time order, so a buffered batch is judged as the unit drove it.
        for _, fix in sorted(checked, key=lambda pair: pair[1].device_time):
            fix = judge(state.latest, state.suspect, fix, self.policy.fixes)
            if fix.jump:
                state.suspect = fix
            elif is_newer(state.latest, fix):
                state.latest, state.suspect = fix, None
            accepted.append(fix)
        stored: asyncio.Future[int] | None = None
        if accepted:
            # Consoles first: the live map does not wait for the breadcrumb store's commit.
            await self.relay.publish(accepted)
            stored = await self.writer.write(accepted)
            for fix in accepted:
                await self._fence(unit_id, state, state.timeline.add(fix, now))
        return Taken(len(accepted), refused, state.latest, stored)

    async def tick(self) -> None:
        """Settle what waited for its tolerance, for every unit (run every second or so)."""
        now = self.clock()
        try:
            await self.fences.refresh()
        except Exception:
            log.warning("fences could not be re-read; the last ones apply", exc_info=True)
        for unit_id, state in list(self._units.items()):
            await self._fence(unit_id, state, state.timeline.release(now))

    async def _fence(self, unit_id: str, state: _Unit, settled: list[Fix]) -> None:
        if not settled:
            return
        if state.watch is None:
            state.watch = FenceWatch(unit_id)
        if self.fences.generation == 0:
            await self.fences.refresh(force=True)
        if state.fence_generation != self.fences.generation:
            state.watch.set_fences(self.fences.for_unit(unit_id))
            state.fence_generation = self.fences.generation
        crossings = [c for fix in settled for c in state.watch.feed(fix)]
        if crossings:
            await self._crossed(crossings)

    async def _crossed(self, crossings: list[Crossing]) -> None:
        new: list[NewEvent] = []
        for c in crossings:
            kind, _, ident = c.fence_id.partition(":")
            data = {
                "fence": c.fence_id,
                "at": c.at.isoformat(),
                "lon": round(c.lon, 7),
                "lat": round(c.lat, 7),
            }
            if kind == "incident" and c.entered:
                if self.policy.arrival_sets_on_scene:
                    await self._arrive(c.unit_id, int(ident))
                new.append(
                    NewEvent(
                        "unit.arrival_detected",
                        "unit",
                        c.unit_id,
                        {
                            **data,
                            "incident_id": int(ident),
                            "on_scene_set": self.policy.arrival_sets_on_scene,
                        },
                        ACTOR,
                    )
                )
            elif kind == "jurisdiction":
                event = "unit.returned_to_jurisdiction" if c.entered else "unit.left_jurisdiction"
                new.append(
                    NewEvent(
                        event, "unit", c.unit_id, {**data, "jurisdiction_id": int(ident)}, ACTOR
                    )
                )
            elif kind == "zone":
                event = "unit.entered_zone" if c.entered else "unit.left_zone"
                new.append(
                    NewEvent(event, "unit", c.unit_id, {**data, "zone_id": int(ident)}, ACTOR)
                )
        if new:
            async with self.engine.begin() as conn:
                await events.append(conn, new)

    async def _arrive(self, unit_id: str, incident_id: int) -> None:
        """Report on scene for a unit that reached its incident (if it is still on the way)."""
        try:
            await self.unit_status.report(
                unit_id, UnitStatus.ON_SCENE, ACTOR, f"arrived at incident {incident_id}"
            )
        except DispatchConflict as exc:  # already on scene, or no longer assigned
            log.info("arrival of %s not reported: %s", unit_id, exc.message)
