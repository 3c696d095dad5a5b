"""A unit's status changes: acknowledgments and status reports from its terminal (or from a
dispatcher on the radio), what they do to its assignment and incident, and the status board
with its timer alerts.

The rule of which status may follow which is ``dispatch.units.transition`` (pure); here it is
applied in a unit of work with the assignment's time stamps and the incident's next step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command.dispatching import changes
from command.errors import Conflict, Forbidden, InvalidInput
from command.events import NewEvent
from command.incidents import changes as incident_changes
from command.incidents import store as incidents_store
from command.unit_of_work import UnitOfWork
from dispatch import store as dispatch_store
from dispatch.assignments import Assignment, EndReason, end, stamp
from dispatch.timers import StatusAlert, StatusLimits, overdue
from dispatch.units import ASSIGNED, Unit, UnitStatus, acknowledge, transition

#: Something written in the same transaction as a change (a terminal message's idempotency key).
Also = Callable[[AsyncConnection], Awaitable[None]]

#: Roles that report for any unit; a field terminal reports for its own unit only.
FOR_ANY_UNIT = frozenset({"dispatcher", "supervisor", "admin"})


@dataclass(frozen=True)
class Board:
    """Every unit, the counts per status, the timer alerts, and the incidents' numbers."""

    at: datetime
    units: list[Unit]
    counts: dict[str, int]
    alerts: list[StatusAlert]
    numbers: dict[int, str]


class UnitStatusReports:
    """The unit status use cases over one database, built once by the bootstrap."""

    def __init__(
        self, engine: AsyncEngine, limits: StatusLimits, clock: Callable[[], datetime]
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.work = UnitOfWork(engine, clock)

    async def check_reporter(self, unit_id: str, principal_name: str, roles: set[str]) -> None:
        """A field terminal acts only for its own unit (the device is named after it)."""
        if roles & FOR_ANY_UNIT or principal_name == unit_id:
            return
        async with self.work.read() as conn:
            unit = await dispatch_store.get_unit(conn, unit_id)
        if principal_name != unit.callsign:
            raise Forbidden(
                f"this terminal ({principal_name}) reports for its own unit only, "
                f"not for {unit_id}",
                code="unit.not_own",
                terminal=principal_name,
                unit_id=unit_id,
            )

    async def acknowledge(
        self, unit_id: str, actor: str, also: Also | None = None, assignment_id: int | None = None
    ) -> Assignment:
        """The unit's crew got the dispatch (stops the not-acknowledged timer); with
        ``assignment_id``, only that assignment (an acknowledgment of an older one is refused).
        ``also`` runs in the same transaction."""
        async with self.work.begin(actor) as work:
            unit = await dispatch_store.get_unit(work.conn, unit_id)
            acked = acknowledge(unit, work.now)
            a = await dispatch_store.open_assignment(work.conn, unit.id)
            if a is None:
                raise Conflict(
                    f"unit {unit.callsign} has no open assignment to acknowledge",
                    code="unit.no_assignment",
                    unit_id=unit.id,
                    callsign=unit.callsign,
                )
            if assignment_id is not None and a.id != assignment_id:
                raise Conflict(
                    f"assignment {assignment_id} is not the open assignment of unit "
                    f"{unit.callsign} (that is {a.id})",
                    code="unit.assignment_not_open",
                    unit_id=unit.id,
                    callsign=unit.callsign,
                    assignment_id=assignment_id,
                    open_id=a.id,
                )
            if also is not None:
                await also(work.conn)
            if acked == unit:
                return a
            await dispatch_store.save_unit(work.conn, unit, acked)
            a = replace(a, acknowledged_at=work.now)
            await dispatch_store.save_assignment(work.conn, a)
            work.emit(
                NewEvent(
                    "unit.acknowledged",
                    "unit",
                    unit.id,
                    {"incident_id": a.incident_id, "at": work.now.isoformat()},
                    actor,
                )
            )
            return a

    async def report(
        self,
        unit_id: str,
        to: UnitStatus,
        actor: str,
        reason: str = "",
        also: Also | None = None,
    ) -> Unit:
        """A unit's new status: its assignment is stamped or ended, its incident follows;
        ``also`` runs in the same transaction."""
        if to is UnitStatus.DISPATCHED:
            raise InvalidInput(
                "units are dispatched by assigning them to an incident",
                code="unit.dispatch_by_assignment",
            )
        async with self.work.begin(actor) as work:
            unit = await dispatch_store.get_unit(work.conn, unit_id)
            a = await dispatch_store.open_assignment(work.conn, unit.id)
            inc = None
            if a is not None:
                inc = await incidents_store.get(work.conn, a.incident_id, lock=True)
            moved, ev = transition(unit, to, work.now, reason=reason)
            saved = await dispatch_store.save_unit(work.conn, unit, moved)
            await dispatch_store.record_status(work.conn, ev, actor)
            work.emit(changes.unit_event(ev, actor, callsign=unit.callsign))
            if also is not None:
                await also(work.conn)
            if a is None or inc is None:
                return saved
            if to in ASSIGNED:
                await dispatch_store.save_assignment(work.conn, stamp(a, to, work.now))
                await incident_changes.follow_unit(work, inc, to.value)
            else:
                why = (
                    EndReason.OUT_OF_SERVICE
                    if to is UnitStatus.OUT_OF_SERVICE
                    else EndReason.CLEARED
                    if a.on_scene_at is not None
                    else EndReason.CANCELLED
                )
                await dispatch_store.save_assignment(work.conn, end(a, why, work.now))
                work.emit(changes.assignment_ended(inc.id, unit.id, why, actor))
                await incident_changes.after_unit_left(work, inc)
            return saved

    async def units(self) -> list[Unit]:
        async with self.work.read() as conn:
            return await dispatch_store.list_units(conn)

    async def unit(self, unit_id: str) -> Unit:
        async with self.work.read() as conn:
            return await dispatch_store.get_unit(conn, unit_id)

    async def board(self) -> Board:
        """The dispatchers' status board: every unit, counts per status, overdue timers."""
        async with self.work.read() as conn:
            units = await dispatch_store.list_units(conn)
            numbers = await incidents_store.numbers_of(
                conn, {u.incident_id for u in units if u.incident_id}
            )
        now = self.clock()
        counts = {s.value: 0 for s in UnitStatus}
        for u in units:
            counts[u.status.value] += 1
        return Board(now, units, counts, overdue(units, now, self.limits), numbers)
