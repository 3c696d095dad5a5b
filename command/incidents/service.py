"""Incident use cases: log an incident (with duplicate hints), link calls, narrative, status,
priority and levels, escalation, merge, and the response-time figures.

Each use case is one unit of work (``command.unit_of_work``): everything is checked before it is
written, incident rows are versioned, and the events are appended last. Tiered command: directing
actions take the acting person's command level and are refused below the incident's owning
level (``changes.directed``); reading is open. Units and assignments are dispatching's
(``command.dispatching``); a cancelled incident releases its units through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command.dispatching import changes as dispatch_changes
from command.errors import Conflict, InvalidInput
from command.events import NewEvent
from command.incidents import changes, domain, response_times, sensitivity, sensitivity_store
from command.incidents import store as incidents_store
from command.incidents.access import Draft, write_marking
from command.incidents.changes import incident_event
from command.incidents.config import IncidentConfig
from command.incidents.domain import (
    CommandLevel,
    DuplicateHint,
    Incident,
    IncidentStatus,
    ResponseLevel,
)
from command.unit_of_work import UnitOfWork, Work
from dispatch import store as dispatch_store
from dispatch.assignments import Assignment, EndReason
from dispatch.units import UnitStatus
from plans.levels import check_lowering


@dataclass(frozen=True)
class NewIncident:
    """What a call-taker enters."""

    type_code: str
    lon: float
    lat: float
    priority: int | None = None
    response_level: str | int | None = None
    address: str = ""
    cross_streets: str = ""
    caller_name: str = ""
    caller_phone: str = ""
    summary: str = ""
    call_id: str | None = None
    call_answered_at: datetime | None = None


@dataclass(frozen=True)
class Created:
    incident: Incident
    duplicates: list[DuplicateHint]


@dataclass(frozen=True)
class Note:
    id: int
    at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class IncidentDetail:
    """The incident with its calls, narrative, history, level changes and assignments."""

    incident: Incident
    calls: list[dict[str, Any]]
    narrative: list[dict[str, Any]]
    status_history: list[dict[str, Any]]
    level_changes: list[dict[str, Any]]
    assignments: list[Assignment]


@dataclass(frozen=True)
class Figures:
    since: datetime
    until: datetime
    groups: list[response_times.GroupReport]


def check_point(lon: float, lat: float) -> None:
    if not -180.0 <= lon <= 180.0:
        raise InvalidInput(f"longitude {lon} is outside -180..180", code="point.lon_range", lon=lon)
    if not -90.0 <= lat <= 90.0:
        raise InvalidInput(f"latitude {lat} is outside -90..90", code="point.lat_range", lat=lat)


def _call_id(call_id: str) -> str:
    if not call_id.strip():
        raise InvalidInput("call_id cannot be empty", code="incident.call_id_empty")
    return call_id.strip()


class IncidentService:
    """The incident use cases over one database, built once by the bootstrap."""

    def __init__(
        self,
        engine: AsyncEngine,
        config: IncidentConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.clock = clock
        self.work = UnitOfWork(engine, clock)

    # ------------------------------------------------------------------ logging an incident

    async def preview_duplicates(
        self, type_code: str, lon: float, lat: float
    ) -> list[DuplicateHint]:
        """Open incidents that are probably the same emergency (read only)."""
        check_point(lon, lat)
        self.config.taxonomy.get(type_code)
        async with self.work.read() as conn:
            return await self._duplicates(conn, type_code, lon, lat, self.clock())

    async def _duplicates(
        self, conn: AsyncConnection, type_code: str, lon: float, lat: float, now: datetime
    ) -> list[DuplicateHint]:
        window = self.config.duplicate_window
        near = await incidents_store.open_near(
            conn, lon, lat, window.distance_m, now - timedelta(minutes=window.minutes)
        )
        return domain.probable_duplicates(
            type_code, lon, lat, now, near, self.config.taxonomy, window
        )

    async def create(self, new: NewIncident, actor: str, *, marked: Draft | None = None) -> Created:
        """Log an incident; says which open incidents are probably the same one.

        ``marked``: sensitive from the start, so that not even its ``created`` event reaches a
        console the marking does not name."""
        itype = self.config.taxonomy.get(new.type_code)
        priority = domain.validate_priority(
            itype.default_priority if new.priority is None else new.priority
        )
        level = (
            self.config.default_response_level
            if new.response_level is None
            else ResponseLevel.parse(new.response_level)
        )
        check_point(new.lon, new.lat)
        call_id = None if new.call_id is None else _call_id(new.call_id)
        window = self.config.duplicate_window
        async with self.work.begin(actor) as work:
            summary = (
                domain.narrative_entry(new.summary, actor, work.now).text
                if new.summary.strip()
                else ""
            )
            place = await incidents_store.place_context(
                work.conn,
                new.lon,
                new.lat,
                window.distance_m,
                work.now - timedelta(minutes=window.minutes),
            )
            where = place.jurisdiction
            if where is None:
                raise InvalidInput(
                    f"the location {new.lon:.6f}, {new.lat:.6f} is outside every jurisdiction; "
                    "check the point (longitude, latitude) or import the region's map",
                    code="incident.outside_jurisdictions",
                    lon=new.lon,
                    lat=new.lat,
                )
            duplicates = domain.probable_duplicates(
                new.type_code,
                new.lon,
                new.lat,
                work.now,
                place.near,
                self.config.taxonomy,
                window,
            )
            inc = await incidents_store.create_new(
                work.conn,
                {
                    "type_code": itype.code,
                    "priority": priority,
                    "response_level": int(level),
                    "command_level": self.config.default_command_level.label,
                    "region": where["region"],
                    "jurisdiction_id": where["id"],
                    "jurisdiction_name": where["name"],
                    "address": new.address.strip(),
                    "cross_streets": new.cross_streets.strip() or place.cross_streets,
                    "caller_name": new.caller_name.strip(),
                    "caller_phone": new.caller_phone.strip(),
                    "summary": summary,
                    "actor": actor,
                    "at": work.now,
                    "call_id": call_id,
                    "call_answered_at": new.call_answered_at if call_id else None,
                },
                new.lon,
                new.lat,
            )
            if marked is not None:
                await write_marking(work, inc, marked, was_marked=False)
            # The created event goes to every console: it names no sensitive incident.
            sensitive = await sensitivity_store.of(work.conn, {d.incident_id for d in duplicates})
            work.emit(
                incident_event(
                    "created",
                    inc,
                    actor,
                    type=inc.type_code,
                    priority=inc.priority,
                    response_level=inc.response_level.name,
                    status=inc.status.value,
                    command_level=inc.command_level.label,
                    lon=inc.lon,
                    lat=inc.lat,
                    address=inc.address,
                    jurisdiction=inc.jurisdiction_name,
                    probable_duplicates=[
                        d.number for d in duplicates if d.incident_id not in sensitive
                    ],
                )
            )
            if call_id:
                work.emit(incident_event("call_linked", inc, actor, call_id=call_id))
        return Created(inc, duplicates)

    # ------------------------------------------------------------------ reading

    async def get(self, incident_id: int) -> Incident:
        async with self.work.read() as conn:
            return await incidents_store.get(conn, incident_id)

    async def by_number(self, number: str) -> Incident:
        async with self.work.read() as conn:
            return await incidents_store.get_by_number(conn, number)

    async def detail(self, incident_id: int) -> IncidentDetail:
        async with self.work.read() as conn:
            inc = await incidents_store.get(conn, incident_id)
            return IncidentDetail(
                incident=inc,
                calls=await incidents_store.calls_of(conn, inc.id),
                narrative=await incidents_store.narrative_of(conn, inc.id),
                status_history=await incidents_store.status_history_of(conn, inc.id),
                level_changes=await incidents_store.level_changes_of(conn, inc.id),
                assignments=await dispatch_store.assignments_of(conn, inc.id),
            )

    async def list_open(self, command_level: CommandLevel | None = None) -> list[Incident]:
        """Open incidents; with a level, those owned at that level (the level's board)."""
        async with self.work.read() as conn:
            return await incidents_store.list_open(
                conn, command_levels=None if command_level is None else [command_level.label]
            )

    async def numbers(self, ids: set[int]) -> dict[int, str]:
        """Incident numbers by id, for lists that name incidents (unknown ids are left out)."""
        async with self.work.read() as conn:
            return await incidents_store.numbers_of(conn, ids)

    # ------------------------------------------------------------------ calls and narrative

    async def link_call(
        self,
        incident_id: int,
        call_id: str,
        answered_at: datetime | None,
        caller_phone: str,
        actor: str,
    ) -> Incident:
        """Attach a call to an incident (instead of logging a duplicate)."""
        linked_id = _call_id(call_id)
        async with self.work.begin(actor) as work:
            inc = await incidents_store.get(work.conn, incident_id, lock=True)
            changes.check_not_merged(inc, "link the call")
            linked = await incidents_store.link_call(
                work.conn, inc.id, linked_id, answered_at, caller_phone.strip(), work.now, actor
            )
            if not linked:
                return inc
            earliest = await incidents_store.earliest_answer(work.conn, inc.id)
            if earliest is not None and (
                inc.call_answered_at is None or earliest < inc.call_answered_at
            ):
                inc = await changes.save(work, inc, {"call_answered_at": earliest})
            work.emit(incident_event("call_linked", inc, actor, call_id=linked_id))
            return inc

    async def add_note(self, incident_id: int, text: str, actor: str) -> Note:
        async with self.work.begin(actor) as work:
            entry = domain.narrative_entry(text, actor, work.now)
            # Locked: a note and a sensitivity marking of the incident are ordered in the log,
            # so no note written after the marking goes out before it.
            inc = await incidents_store.get(work.conn, incident_id, lock=True)
            entry_id = await incidents_store.add_narrative(work.conn, inc.id, entry)
            work.emit(incident_event("narrative_added", inc, actor, id=entry_id, text=entry.text))
        return Note(entry_id, entry.at, entry.author, entry.text)

    # ------------------------------------------------------------------ directing

    async def change_status(
        self,
        incident_id: int,
        to: IncidentStatus,
        actor: str,
        reason: str = "",
        version: int | None = None,
        *,
        level: CommandLevel | None = None,
    ) -> Incident:
        """Move an incident on by hand (under control, closed, cancelled, or a skipped step)."""
        async with self.work.begin(actor) as work:
            inc = await changes.directed(work, incident_id, level)
            changes.check_version(inc, version)
            domain.check_status_change(inc.number, inc.status, to)
            open_assignments = await dispatch_store.assignments_of(
                work.conn, inc.id, open_only=True
            )
            if to is IncidentStatus.CLOSED and open_assignments:
                units = [a.unit_id for a in open_assignments]
                raise Conflict(
                    f"incident {inc.number} still has units assigned ({', '.join(units)}); "
                    "clear or cancel them before closing",
                    code="incident.units_still_assigned",
                    number=inc.number,
                    units=units,
                )
            if to is IncidentStatus.CANCELLED:
                for a in open_assignments:
                    await dispatch_changes.release(
                        work,
                        a,
                        UnitStatus.AVAILABLE,
                        EndReason.CANCELLED,
                        f"incident {inc.number} cancelled",
                    )
            inc = await changes.set_status(work, inc, to, reason)
            if reason.strip():
                await changes.note(
                    work,
                    inc.id,
                    f"{to}: {reason}",
                    code="narrative.status_reason",
                    params={"status": to.value, "reason": reason},
                )
            return inc

    async def reopen(
        self, incident_id: int, reason: str, actor: str, *, level: CommandLevel | None = None
    ) -> Incident:
        async with self.work.begin(actor) as work:
            inc = await changes.directed(work, incident_id, level)
            if inc.merged_into is not None:
                raise Conflict(
                    f"incident {inc.number} was merged; reopen the surviving incident",
                    code="incident.reopen_merged",
                    number=inc.number,
                    merged_into=inc.merged_into,
                )
            why = domain.check_reopen(inc.number, inc.status, reason)
            saved = await changes.save(
                work,
                inc,
                {"status": IncidentStatus.NEW, "closed_at": None, "cancelled_at": None},
            )
            await incidents_store.add_status(
                work.conn, inc.id, inc.status, IncidentStatus.NEW, work.now, actor, why
            )
            await changes.note(
                work,
                inc.id,
                f"reopened: {why}",
                code="narrative.reopened",
                params={"from_status": inc.status.value, "reason": why},
            )
            work.emit(
                incident_event("reopened", saved, actor, **{"from": inc.status.value}, reason=why)
            )
            return saved

    async def set_priority(
        self,
        incident_id: int,
        priority: int,
        actor: str,
        version: int | None = None,
        *,
        level: CommandLevel | None = None,
    ) -> Incident:
        domain.validate_priority(priority)
        async with self.work.begin(actor) as work:
            inc = await changes.directed(work, incident_id, level)
            changes.check_version(inc, version)
            changes.require_open(inc)
            saved = await changes.save(work, inc, {"priority": priority})
            work.emit(
                incident_event(
                    "priority_changed", saved, actor, **{"from": inc.priority}, to=priority
                )
            )
            return saved

    async def change_response_level(
        self,
        incident_id: int,
        to: str | int,
        reason: str,
        actor: str,
        *,
        level: CommandLevel | None = None,
        roles: frozenset[str] = frozenset(),
    ) -> Incident:
        """Raise or lower the response level; lowering is for a leader, with a reason."""
        response = ResponseLevel.parse(to)
        async with self.work.begin(actor) as work:
            inc = await changes.directed(work, incident_id, level)
            changes.require_open(inc)
            check_lowering(int(inc.response_level), int(response), roles, reason)
            change = domain.change_response_level(
                inc.response_level, response, reason, work.now, actor
            )
            saved = await changes.save(work, inc, {"response_level": response})
            await incidents_store.add_level_change(work.conn, inc.id, change)
            work.emit(self._level_event("response_level_changed", saved, change))
            return saved

    async def escalate(
        self,
        incident_id: int,
        to: str,
        reason: str,
        actor: str,
        *,
        level: CommandLevel | None = None,
    ) -> Incident:
        """Hand the incident to a higher command level (district -> city)."""
        target = CommandLevel.parse(to)
        async with self.work.begin(actor) as work:
            inc = await changes.directed(work, incident_id, level)
            changes.require_open(inc)
            change = domain.escalate(inc.command_level, target, reason, work.now, actor)
            saved = await changes.save(work, inc, {"command_level": target})
            await incidents_store.add_level_change(work.conn, inc.id, change)
            await changes.note(
                work,
                inc.id,
                f"escalated from {change.from_value} to {change.to_value}: {change.reason}",
                code="narrative.escalated",
                params={
                    "from_level": change.from_value,
                    "to_level": change.to_value,
                    "reason": change.reason,
                },
            )
            work.emit(self._level_event("escalated", saved, change))
            return saved

    @staticmethod
    def _level_event(kind: str, inc: Incident, change: domain.LevelChange) -> NewEvent:
        return incident_event(
            kind,
            inc,
            change.actor,
            **{"from": change.from_value},
            to=change.to_value,
            reason=change.reason,
        )

    async def merge(
        self,
        survivor_id: int,
        absorbed_id: int,
        actor: str,
        *,
        level: CommandLevel | None = None,
    ) -> Incident:
        """Merge ``absorbed`` into ``survivor``: calls and units move; absorbed is cancelled."""
        async with self.work.begin(actor) as work:
            first, second = sorted((survivor_id, absorbed_id))
            locked = {i: await changes.directed(work, i, level) for i in (first, second)}
            survivor, absorbed = locked[survivor_id], locked[absorbed_id]
            plan = domain.plan_merge(self._side(survivor), self._side(absorbed))
            markings = await sensitivity_store.of(work.conn, {survivor.id, absorbed.id})
            sensitivity.check_merge(
                survivor.number,
                absorbed.number,
                markings.get(survivor.id),
                markings.get(absorbed.id),
            )
            moved_calls = await incidents_store.move_calls(work.conn, absorbed.id, survivor.id)
            moved_statuses = await self._move_units(work, absorbed, survivor)
            earliest = await incidents_store.earliest_answer(work.conn, survivor.id)
            update: dict[str, Any] = {
                "priority": plan.priority,
                "response_level": plan.response_level,
                "command_level": plan.command_level,
                "call_answered_at": min(
                    (
                        t
                        for t in (survivor.call_answered_at, absorbed.call_answered_at, earliest)
                        if t is not None
                    ),
                    default=None,
                ),
            }
            for col in ("dispatched_at", "en_route_at", "on_scene_at"):
                times = [t for t in (getattr(survivor, col), getattr(absorbed, col)) if t]
                if times:
                    update[col] = min(times)
            saved = await changes.save(work, survivor, update)
            for moved in (UnitStatus.DISPATCHED, UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE):
                if moved in moved_statuses:
                    saved = await changes.follow_unit(work, saved, moved.value)
            await changes.set_status(
                work,
                absorbed,
                IncidentStatus.CANCELLED,
                f"merged into {survivor.number}",
                {"merged_into": survivor.id},
            )
            note = f"merged {absorbed.number} into {survivor.number}"
            for target in (survivor.id, absorbed.id):
                await changes.note(
                    work,
                    target,
                    note,
                    code="narrative.merged",
                    params={"absorbed": absorbed.number, "survivor": survivor.number},
                )
            work.emit(
                incident_event(
                    "merged",
                    saved,
                    actor,
                    absorbed_id=absorbed.id,
                    absorbed_number=absorbed.number,
                    calls_moved=moved_calls,
                )
            )
            return saved

    @staticmethod
    async def _move_units(work: Work, absorbed: Incident, survivor: Incident) -> set[UnitStatus]:
        """Move the absorbed incident's open assignments; the statuses the units were in."""
        statuses: set[UnitStatus] = set()
        for a in await dispatch_store.assignments_of(work.conn, absorbed.id, open_only=True):
            await dispatch_store.save_assignment(work.conn, replace(a, incident_id=survivor.id))
            unit = await dispatch_store.get_unit(work.conn, a.unit_id)
            statuses.add(
                UnitStatus.ON_SCENE
                if unit.status in (UnitStatus.TRANSPORTING, UnitStatus.AT_HOSPITAL)
                else unit.status
            )
            await dispatch_store.save_unit(work.conn, unit, replace(unit, incident_id=survivor.id))
            work.emit(
                NewEvent(
                    "unit.moved",
                    "unit",
                    unit.id,
                    {"from_incident": absorbed.id, "to_incident": survivor.id},
                    work.actor,
                )
            )
        return statuses

    @staticmethod
    def _side(inc: Incident) -> domain.MergeSide:
        return domain.MergeSide(
            inc.id, inc.number, inc.status, inc.priority, inc.response_level, inc.command_level
        )

    # ------------------------------------------------------------------ figures

    async def figures(
        self,
        since: datetime | None,
        until: datetime | None,
        group_by: list[str],
        period: str,
        type_prefix: str | None,
        jurisdiction: str | None,
    ) -> Figures:
        """Response-time figures per group against the centre's targets."""
        start, end = self._window(since, until)
        times = await self.times(start, end, type_prefix, jurisdiction)
        groups = response_times.report(
            times, group_by=group_by, period=period, targets=self.config.targets
        )
        return Figures(start, end, groups)

    async def times(
        self,
        since: datetime | None,
        until: datetime | None,
        type_prefix: str | None,
        jurisdiction: str | None,
    ) -> list[response_times.IncidentTimes]:
        start, end = self._window(since, until)
        async with self.work.read() as conn:
            return await incidents_store.times_between(
                conn, start, end, type_prefix=type_prefix, jurisdiction=jurisdiction
            )

    def _window(self, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
        end = until or self.clock()
        start = since or end - timedelta(days=30)
        if start >= end:
            raise InvalidInput(
                "since must be before until",
                code="figures.window_empty",
                since=start.isoformat(),
                until=end.isoformat(),
            )
        return start, end
