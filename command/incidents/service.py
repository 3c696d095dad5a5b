"""Incident and dispatch use cases: each one transaction, each state change with its events.

The service combines the incident domain (``command.incidents``) with units and assignments
(``dispatch``) and drive times (``gis.routing``). Every method opens one transaction, checks
everything before writing, writes versioned rows (a concurrent change raises ``Conflict``), and
appends its events last, so a refused request changes nothing and every change is in the log.

Tiered command: directing actions (status, priority, levels, merge, assignment) take the acting
person's command level and are refused below the incident's owning level; reading is open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import events
from command.errors import Conflict, Forbidden, InvalidInput, NotFound
from command.events import NewEvent
from command.incidents import domain
from command.incidents import store as incidents_store
from command.incidents.domain import (
    STATUS_STAMPS,
    CommandLevel,
    DuplicateHint,
    DuplicateWindow,
    Incident,
    IncidentStatus,
    ResponseLevel,
    Taxonomy,
)
from command.incidents.response_times import DEFAULT_TARGETS, Target
from dispatch import store as dispatch_store
from dispatch.assignments import Assignment, EndReason, end, stamp
from dispatch.recommend import Recommendation, recommend
from dispatch.runcards import RunCards
from dispatch.timers import StatusLimits
from dispatch.units import (
    ASSIGNED,
    DISPATCHABLE,
    DIVERTIBLE,
    Capability,
    Unit,
    UnitStatus,
    UnitStatusChanged,
    acknowledge,
    parse_capability,
    transition,
)
from gis.routing import RoadGraphs

DriveTimes = Callable[
    [AsyncConnection, str, Sequence[tuple[str, float, float]], tuple[float, float]],
    Any,
]


@dataclass(frozen=True)
class IncidentConfig:
    """What a command centre configures about incidents and dispatch."""

    taxonomy: Taxonomy = field(default_factory=Taxonomy.default)
    run_cards: RunCards = field(default_factory=RunCards.default)
    duplicate_window: DuplicateWindow = field(default_factory=DuplicateWindow)
    default_command_level: CommandLevel = CommandLevel.DISTRICT
    default_response_level: ResponseLevel = ResponseLevel.IV
    status_limits: StatusLimits = field(default_factory=StatusLimits)
    targets: tuple[Target, ...] = DEFAULT_TARGETS


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
class Assigned:
    incident: Incident
    assignments: list[Assignment]


@dataclass(frozen=True)
class Recommended:
    incident: Incident
    source: str  # run_card | requested
    recommendation: Recommendation


def check_point(lon: float, lat: float) -> None:
    if not -180.0 <= lon <= 180.0:
        raise InvalidInput(f"longitude {lon} is outside -180..180")
    if not -90.0 <= lat <= 90.0:
        raise InvalidInput(f"latitude {lat} is outside -90..90")


def _unit_event(ev: UnitStatusChanged, actor: str, **extra: Any) -> NewEvent:
    return NewEvent(
        "unit.status_changed",
        "unit",
        ev.unit_id,
        {
            "from": ev.from_status.value,
            "to": ev.to_status.value,
            "at": ev.at.isoformat(),
            "incident_id": ev.incident_id,
            "reason": ev.reason,
            **extra,
        },
        actor,
    )


def _incident_event(kind: str, inc: Incident, actor: str, **data: Any) -> NewEvent:
    return NewEvent(
        f"incident.{kind}", "incident", str(inc.id), {"number": inc.number, **data}, actor
    )


def _assignment_json(a: Assignment) -> dict[str, Any]:
    return {
        "id": a.id,
        "incident_id": a.incident_id,
        "unit_id": a.unit_id,
        "assigned_at": a.assigned_at,
        "assigned_by": a.assigned_by,
        "acknowledged_at": a.acknowledged_at,
        "en_route_at": a.en_route_at,
        "on_scene_at": a.on_scene_at,
        "transporting_at": a.transporting_at,
        "at_hospital_at": a.at_hospital_at,
        "ended_at": a.ended_at,
        "end_reason": None if a.end_reason is None else a.end_reason.value,
    }


class IncidentService:
    """The incident and dispatch use cases over one database."""

    def __init__(
        self,
        engine: AsyncEngine,
        config: IncidentConfig | None = None,
        clock: Callable[[], datetime] | None = None,
        routing: DriveTimes | None = None,
    ) -> None:
        self.engine = engine
        self.config = config or IncidentConfig()
        self._clock = clock
        # Without one handed in, a graph cache of its own (read on first use).
        self._routing = routing if routing is not None else RoadGraphs().drive_times

    def now(self) -> datetime:
        if self._clock is not None:
            return self._clock()
        return datetime.now(UTC)

    # ------------------------------------------------------------------ incidents

    async def preview_duplicates(
        self, type_code: str, lon: float, lat: float
    ) -> list[DuplicateHint]:
        """Open incidents that are probably the same emergency (read only)."""
        check_point(lon, lat)
        self.config.taxonomy.get(type_code)
        async with self.engine.connect() as conn:
            return await self._duplicates(conn, type_code, lon, lat, self.now())

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

    async def create(self, new: NewIncident, actor: str) -> Created:
        """Log an incident; says which open incidents are probably the same one."""
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
        if new.call_id is not None and not new.call_id.strip():
            raise InvalidInput("call_id cannot be empty")
        now = self.now()
        summary = (
            domain.narrative_entry(new.summary, actor, now).text if new.summary.strip() else ""
        )
        window = self.config.duplicate_window
        async with self.engine.begin() as conn:
            place = await incidents_store.place_context(
                conn,
                new.lon,
                new.lat,
                window.distance_m,
                now - timedelta(minutes=window.minutes),
            )
            where = place.jurisdiction
            if where is None:
                raise InvalidInput(
                    f"the location {new.lon:.6f}, {new.lat:.6f} is outside every jurisdiction; "
                    "check the point (longitude, latitude) or import the region's map",
                    lon=new.lon,
                    lat=new.lat,
                )
            duplicates = domain.probable_duplicates(
                new.type_code, new.lon, new.lat, now, place.near, self.config.taxonomy, window
            )
            call_id = new.call_id.strip() if new.call_id else None
            inc = await incidents_store.create_new(
                conn,
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
                    "at": now,
                    "call_id": call_id,
                    "call_answered_at": new.call_answered_at if call_id else None,
                },
                new.lon,
                new.lat,
            )
            evs = [
                _incident_event(
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
                    probable_duplicates=[d.number for d in duplicates],
                )
            ]
            if call_id:
                evs.append(_incident_event("call_linked", inc, actor, call_id=call_id))
            await events.append(conn, evs)
        return Created(inc, duplicates)

    async def get(self, incident_id: int) -> Incident:
        async with self.engine.connect() as conn:
            return await incidents_store.get(conn, incident_id)

    async def detail(self, incident_id: int) -> dict[str, Any]:
        """The incident with its calls, narrative, history, level changes and assignments."""
        async with self.engine.connect() as conn:
            inc = await incidents_store.get(conn, incident_id)
            return {
                "incident": inc,
                "calls": await incidents_store.calls_of(conn, inc.id),
                "narrative": await incidents_store.narrative_of(conn, inc.id),
                "status_history": await incidents_store.status_history_of(conn, inc.id),
                "level_changes": await incidents_store.level_changes_of(conn, inc.id),
                "assignments": [
                    _assignment_json(a) for a in await dispatch_store.assignments_of(conn, inc.id)
                ],
            }

    async def list_open(self, command_level: CommandLevel | None = None) -> list[Incident]:
        """Open incidents; with a level, those owned at that level (the level's board)."""
        async with self.engine.connect() as conn:
            return await incidents_store.list_open(
                conn, command_levels=None if command_level is None else [command_level.label]
            )

    async def link_call(
        self,
        incident_id: int,
        call_id: str,
        answered_at: datetime | None,
        caller_phone: str,
        actor: str,
    ) -> Incident:
        """Attach a call to an incident (instead of logging a duplicate)."""
        call_id = call_id.strip()
        if not call_id:
            raise InvalidInput("call_id cannot be empty")
        now = self.now()
        async with self.engine.begin() as conn:
            inc = await incidents_store.get(conn, incident_id, lock=True)
            if inc.merged_into is not None:
                raise Conflict(
                    f"incident {inc.number} was merged into incident {inc.merged_into}; "
                    "link the call there"
                )
            linked = await incidents_store.link_call(
                conn, inc.id, call_id, answered_at, caller_phone.strip(), now, actor
            )
            if not linked:
                return inc
            earliest = await incidents_store.earliest_answer(conn, inc.id)
            if earliest is not None and (
                inc.call_answered_at is None or earliest < inc.call_answered_at
            ):
                inc = await incidents_store.save(conn, inc, {"call_answered_at": earliest}, now)
            await events.append(conn, [_incident_event("call_linked", inc, actor, call_id=call_id)])
            return inc

    async def add_note(self, incident_id: int, text: str, actor: str) -> dict[str, Any]:
        now = self.now()
        entry = domain.narrative_entry(text, actor, now)
        async with self.engine.begin() as conn:
            inc = await incidents_store.get(conn, incident_id)
            entry_id = await incidents_store.add_narrative(conn, inc.id, entry)
            await events.append(
                conn, [_incident_event("narrative_added", inc, actor, id=entry_id, text=entry.text)]
            )
        return {"id": entry_id, "at": entry.at, "author": entry.author, "text": entry.text}

    async def _set_status(
        self,
        conn: AsyncConnection,
        inc: Incident,
        to: IncidentStatus,
        now: datetime,
        actor: str,
        reason: str = "",
        extra: Mapping[str, Any] | None = None,
    ) -> tuple[Incident, NewEvent]:
        changes: dict[str, Any] = {"status": to, **(extra or {})}
        stamp_col = STATUS_STAMPS.get(to)
        if stamp_col is not None and getattr(inc, stamp_col) is None:
            changes[stamp_col] = now
        saved = await incidents_store.save(conn, inc, changes, now)
        await incidents_store.add_status(conn, inc.id, inc.status, to, now, actor, reason)
        ev = _incident_event(
            "status_changed",
            saved,
            actor,
            **{"from": inc.status.value, "to": to.value},
            reason=reason,
        )
        return saved, ev

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
        now = self.now()
        async with self.engine.begin() as conn:
            inc = await self._directed(conn, incident_id, level)
            self._check_version(inc, version)
            domain.check_status_change(inc.number, inc.status, to)
            evs: list[NewEvent] = []
            open_assignments = await dispatch_store.assignments_of(conn, inc.id, open_only=True)
            if to is IncidentStatus.CLOSED and open_assignments:
                names = ", ".join(a.unit_id for a in open_assignments)
                raise Conflict(
                    f"incident {inc.number} still has units assigned ({names}); "
                    "clear or cancel them before closing",
                    units=[a.unit_id for a in open_assignments],
                )
            if to is IncidentStatus.CANCELLED:
                for a in open_assignments:
                    evs += await self._release(
                        conn,
                        a,
                        UnitStatus.AVAILABLE,
                        EndReason.CANCELLED,
                        now,
                        actor,
                        f"incident {inc.number} cancelled",
                    )
            inc, ev = await self._set_status(conn, inc, to, now, actor, reason)
            if reason.strip():
                await incidents_store.add_narrative(
                    conn,
                    inc.id,
                    domain.narrative_entry(f"{to}: {reason}", actor, now, kind="system"),
                )
            await events.append(conn, [*evs, ev])
            return inc

    async def reopen(
        self, incident_id: int, reason: str, actor: str, *, level: CommandLevel | None = None
    ) -> Incident:
        now = self.now()
        async with self.engine.begin() as conn:
            inc = await self._directed(conn, incident_id, level)
            if inc.merged_into is not None:
                raise Conflict(f"incident {inc.number} was merged; reopen the surviving incident")
            why = domain.check_reopen(inc.number, inc.status, reason)
            saved = await incidents_store.save(
                conn,
                inc,
                {"status": IncidentStatus.NEW, "closed_at": None, "cancelled_at": None},
                now,
            )
            await incidents_store.add_status(
                conn, inc.id, inc.status, IncidentStatus.NEW, now, actor, why
            )
            await incidents_store.add_narrative(
                conn, inc.id, domain.narrative_entry(f"reopened: {why}", actor, now, "system")
            )
            await events.append(
                conn,
                [
                    _incident_event(
                        "reopened", saved, actor, **{"from": inc.status.value}, reason=why
                    )
                ],
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
        now = self.now()
        async with self.engine.begin() as conn:
            inc = await self._directed(conn, incident_id, level)
            self._check_version(inc, version)
            _require_open(inc)
            saved = await incidents_store.save(conn, inc, {"priority": priority}, now)
            await events.append(
                conn,
                [
                    _incident_event(
                        "priority_changed", saved, actor, **{"from": inc.priority}, to=priority
                    )
                ],
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
    ) -> Incident:
        response = ResponseLevel.parse(to)
        now = self.now()
        async with self.engine.begin() as conn:
            inc = await self._directed(conn, incident_id, level)
            _require_open(inc)
            change = domain.change_response_level(inc.response_level, response, reason, now, actor)
            saved = await incidents_store.save(conn, inc, {"response_level": response}, now)
            await incidents_store.add_level_change(conn, inc.id, change)
            await events.append(
                conn,
                [
                    _incident_event(
                        "response_level_changed",
                        saved,
                        actor,
                        **{"from": change.from_value},
                        to=change.to_value,
                        reason=change.reason,
                    )
                ],
            )
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
        now = self.now()
        async with self.engine.begin() as conn:
            inc = await self._directed(conn, incident_id, level)
            _require_open(inc)
            change = domain.escalate(inc.command_level, target, reason, now, actor)
            saved = await incidents_store.save(conn, inc, {"command_level": target}, now)
            await incidents_store.add_level_change(conn, inc.id, change)
            await incidents_store.add_narrative(
                conn,
                inc.id,
                domain.narrative_entry(
                    f"escalated from {change.from_value} to {change.to_value}: {change.reason}",
                    actor,
                    now,
                    "system",
                ),
            )
            await events.append(
                conn,
                [
                    _incident_event(
                        "escalated",
                        saved,
                        actor,
                        **{"from": change.from_value},
                        to=change.to_value,
                        reason=change.reason,
                    )
                ],
            )
            return saved

    async def merge(
        self,
        survivor_id: int,
        absorbed_id: int,
        actor: str,
        *,
        level: CommandLevel | None = None,
    ) -> Incident:
        """Merge ``absorbed`` into ``survivor``: calls and units move; absorbed is cancelled."""
        now = self.now()
        async with self.engine.begin() as conn:
            first, second = sorted((survivor_id, absorbed_id))
            locked = {i: await self._directed(conn, i, level) for i in (first, second)}
            survivor, absorbed = locked[survivor_id], locked[absorbed_id]
            plan = domain.plan_merge(self._side(survivor), self._side(absorbed))
            moved_calls = await incidents_store.move_calls(conn, absorbed.id, survivor.id)
            evs: list[NewEvent] = []
            moved_statuses: set[UnitStatus] = set()
            for a in await dispatch_store.assignments_of(conn, absorbed.id, open_only=True):
                await dispatch_store.save_assignment(conn, replace(a, incident_id=survivor.id))
                unit = await dispatch_store.get_unit(conn, a.unit_id)
                moved_statuses.add(
                    UnitStatus.ON_SCENE
                    if unit.status in (UnitStatus.TRANSPORTING, UnitStatus.AT_HOSPITAL)
                    else unit.status
                )
                await dispatch_store.save_unit(conn, unit, replace(unit, incident_id=survivor.id))
                evs.append(
                    NewEvent(
                        "unit.moved",
                        "unit",
                        unit.id,
                        {"from_incident": absorbed.id, "to_incident": survivor.id},
                        actor,
                    )
                )
            earliest = await incidents_store.earliest_answer(conn, survivor.id)
            changes: dict[str, Any] = {
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
                    changes[col] = min(times)
            survivor_saved = await incidents_store.save(conn, survivor, changes, now)
            for moved_status in (UnitStatus.DISPATCHED, UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE):
                if moved_status in moved_statuses:
                    survivor_saved, advanced = await self._advance(
                        conn, survivor_saved, moved_status, now, actor
                    )
                    evs += advanced
            absorbed_saved, status_ev = await self._set_status(
                conn,
                absorbed,
                IncidentStatus.CANCELLED,
                now,
                actor,
                f"merged into {survivor.number}",
                {"merged_into": survivor.id},
            )
            note = f"merged {absorbed.number} into {survivor.number}"
            for target in (survivor.id, absorbed.id):
                await incidents_store.add_narrative(
                    conn, target, domain.narrative_entry(note, actor, now, "system")
                )
            evs += [
                status_ev,
                _incident_event(
                    "merged",
                    survivor_saved,
                    actor,
                    absorbed_id=absorbed.id,
                    absorbed_number=absorbed.number,
                    calls_moved=moved_calls,
                ),
            ]
            await events.append(conn, evs)
            del absorbed_saved
            return survivor_saved

    @staticmethod
    async def _directed(
        conn: AsyncConnection, incident_id: int, level: CommandLevel | None
    ) -> Incident:
        """The incident, locked, for someone directing it at ``level`` (None: the top level).

        Every directing action loads its incident here, so tiered command is enforced in one
        place and under the row lock: an escalation that commits first is seen.
        """
        inc = await incidents_store.get(conn, incident_id, lock=True)
        domain.check_direct(inc.number, level, inc.command_level)
        return inc

    @staticmethod
    def _side(inc: Incident) -> domain.MergeSide:
        return domain.MergeSide(
            inc.id, inc.number, inc.status, inc.priority, inc.response_level, inc.command_level
        )

    @staticmethod
    def _check_version(inc: Incident, version: int | None) -> None:
        if version is not None and version != inc.version:
            raise Conflict(
                f"incident {inc.number} changed since you loaded it (version {version}, now "
                f"{inc.version}); reload and try again",
                version=inc.version,
            )

    # ------------------------------------------------------------------ recommendation

    def requirements_for(
        self, inc: Incident, requested: Mapping[str, int] | None
    ) -> tuple[str, dict[Capability, int]]:
        return self.requirements_for_type(inc.type_code, requested)

    def requirements_for_type(
        self, type_code: str, requested: Mapping[str, int] | None
    ) -> tuple[str, dict[Capability, int]]:
        if requested:
            reqs: dict[Capability, int] = {}
            for name, count in requested.items():
                if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                    raise InvalidInput(f"the count of {name} must be a whole number >= 0")
                reqs[parse_capability(name)] = count
            return "requested", reqs
        card = self.config.run_cards.for_type(type_code)
        if not card:
            raise InvalidInput(
                f"there is no run card for incident type {type_code}; "
                "say which capabilities are needed"
            )
        return "run_card", card

    async def recommend(
        self, incident_id: int, requested: Mapping[str, int] | None = None
    ) -> Recommended:
        """Rank units by drive time and choose the fastest set covering the requirements.

        ``requested`` (capability -> count) comes from a matched contingency plan; without it
        the incident type's run card applies.
        """
        async with self.engine.connect() as conn:
            inc = await incidents_store.get(conn, incident_id)
            if not inc.open:
                raise Conflict(
                    f"incident {inc.number} is {inc.status}; reopen it before sending units"
                )
            source, reqs = self.requirements_for(inc, requested)
            rec = await self._recommend(conn, inc, reqs)
            return Recommended(inc, source, rec)

    async def _recommend(
        self, conn: AsyncConnection, inc: Incident, reqs: Mapping[Capability, int]
    ) -> Recommendation:
        return await self._recommend_at(conn, inc.region, inc.lon, inc.lat, reqs, inc.id)

    async def _recommend_at(
        self,
        conn: AsyncConnection,
        region: str | None,
        lon: float,
        lat: float,
        reqs: Mapping[Capability, int],
        incident_id: int | None,
    ) -> Recommendation:
        all_units = await dispatch_store.list_units(conn)
        assigned = [
            u
            for u in all_units
            if incident_id is not None and u.incident_id == incident_id and u.status in ASSIGNED
        ]
        needed = {c for c, n in reqs.items() if n > 0}
        origins: list[tuple[str, float, float]] = []
        for u in all_units:
            origin = u.origin
            if u.status in DISPATCHABLE and u.capabilities & needed and origin is not None:
                origins.append((u.id, origin[1].lon, origin[1].lat))
        times: dict[str, float | None] = {}
        if origins and region is not None:
            times = await self._routing(conn, region, origins, (lon, lat))
        return recommend(reqs, all_units, times, assigned=assigned)

    async def create_and_recommend(
        self, new: NewIncident, actor: str, requested: Mapping[str, int] | None = None
    ) -> tuple[Created, Recommended]:
        """Log an incident and work out its recommendation at the same time.

        The recommendation needs only the point and the type, so units and drive times are read
        on a second connection while the incident is written (a new incident has no units yet).
        If the incident is refused, so is the whole request.
        """
        source, reqs = self.requirements_for_type(
            self.config.taxonomy.get(new.type_code).code, requested
        )
        check_point(new.lon, new.lat)

        async def advise() -> Recommendation:
            async with self.engine.connect() as conn:
                where = await incidents_store.jurisdiction_at(conn, new.lon, new.lat)
                region = None if where is None else str(where["region"])
                return await self._recommend_at(conn, region, new.lon, new.lat, reqs, None)

        created, advice = await asyncio.gather(
            self.create(new, actor), advise(), return_exceptions=True
        )
        if isinstance(created, BaseException):
            raise created
        if isinstance(advice, BaseException):
            raise advice
        return created, Recommended(created.incident, source, advice)

    # ------------------------------------------------------------------ assignment

    async def assign(
        self,
        incident_id: int,
        unit_ids: Sequence[str],
        actor: str,
        *,
        divert: bool = False,
        level: CommandLevel | None = None,
    ) -> Assigned:
        """Send one or several units in one action: all of them, or none (a clear conflict)."""
        ids = [u.strip() for u in unit_ids]
        if not ids:
            raise InvalidInput("name at least one unit to assign")
        if len(set(ids)) != len(ids):
            raise InvalidInput("a unit is named twice")
        now = self.now()
        async with self.engine.begin() as conn:
            inc = await self._directed(conn, incident_id, level)
            self._check_assignable(inc)
            units = await dispatch_store.get_units(conn, ids)
            made: list[Assignment] = []
            evs: list[NewEvent] = []
            for unit in units:
                a, unit_evs = await self._dispatch_one(conn, inc, unit, now, actor, divert)
                made.append(a)
                evs += unit_evs
            inc, status_evs = await self._advance(conn, inc, UnitStatus.DISPATCHED, now, actor)
            await incidents_store.add_narrative(
                conn,
                inc.id,
                domain.narrative_entry(
                    "assigned " + ", ".join(u.callsign for u in units), actor, now, "system"
                ),
            )
            await events.append(conn, [*evs, *status_evs])
            return Assigned(inc, made)

    @staticmethod
    def _check_assignable(inc: Incident) -> None:
        if inc.merged_into is not None:
            raise Conflict(
                f"incident {inc.number} was merged into incident {inc.merged_into}; "
                "assign units there"
            )
        if not inc.open:
            raise Conflict(
                f"incident {inc.number} is {inc.status}; reopen it before assigning units",
                status=inc.status.value,
            )

    async def _dispatch_one(
        self,
        conn: AsyncConnection,
        inc: Incident,
        unit: Unit,
        now: datetime,
        actor: str,
        divert: bool,
    ) -> tuple[Assignment, list[NewEvent]]:
        if unit.incident_id == inc.id and unit.status in ASSIGNED:
            raise Conflict(
                f"unit {unit.callsign} is already assigned to incident {inc.number}",
                unit_id=unit.id,
            )
        evs: list[NewEvent] = []
        previous = await dispatch_store.open_assignment(conn, unit.id)
        diverting = unit.status in DIVERTIBLE
        moved, ev = transition(
            unit,
            UnitStatus.DISPATCHED,
            now,
            incident_id=inc.id,
            divert=divert,
            reason=f"diverted to {inc.number}" if diverting else "",
        )
        saved = await dispatch_store.save_unit(conn, unit, moved)
        if previous is not None:
            await dispatch_store.save_assignment(conn, end(previous, EndReason.DIVERTED, now))
            await incidents_store.add_narrative(
                conn,
                previous.incident_id,
                domain.narrative_entry(
                    f"{unit.callsign} diverted to incident {inc.number}", actor, now, "system"
                ),
            )
            evs.append(
                NewEvent(
                    "assignment.ended",
                    "incident",
                    str(previous.incident_id),
                    {"unit_id": unit.id, "reason": EndReason.DIVERTED.value, "diverted_to": inc.id},
                    actor,
                )
            )
            left = await incidents_store.get(conn, previous.incident_id, lock=True)
            evs += await self._after_unit_left(conn, left, now, actor)
        await dispatch_store.record_status(conn, ev, actor)
        a = await dispatch_store.insert_assignment(conn, inc.id, saved.id, now, actor)
        evs.append(_unit_event(ev, actor, callsign=unit.callsign, incident_number=inc.number))
        evs.append(
            _incident_event(
                "unit_assigned",
                inc,
                actor,
                unit_id=unit.id,
                callsign=unit.callsign,
                assignment_id=a.id,
                diverted=diverting,
            )
        )
        return a, evs

    async def _advance(
        self,
        conn: AsyncConnection,
        inc: Incident,
        unit_status: UnitStatus,
        now: datetime,
        actor: str,
    ) -> tuple[Incident, list[NewEvent]]:
        target = domain.advance_for_unit(inc.status, unit_status.value)
        if target is None:
            return inc, []
        saved, ev = await self._set_status(conn, inc, target, now, actor)
        return saved, [ev]

    async def _after_unit_left(
        self, conn: AsyncConnection, inc: Incident, now: datetime, actor: str
    ) -> list[NewEvent]:
        """Back to ``new`` when no unit is left on an incident nobody has reached yet."""
        target = domain.after_last_unit_left(inc.status)
        if target is None or await dispatch_store.assignments_of(conn, inc.id, open_only=True):
            return []
        _, ev = await self._set_status(
            conn, inc, target, now, actor, "no unit left on the way; send another"
        )
        return [ev]

    async def acknowledge(self, unit_id: str, actor: str) -> Assignment:
        """The unit's crew got the dispatch (stops the not-acknowledged timer)."""
        now = self.now()
        async with self.engine.begin() as conn:
            unit = await dispatch_store.get_unit(conn, unit_id)
            acked = acknowledge(unit, now)
            a = await dispatch_store.open_assignment(conn, unit.id)
            if a is None:
                raise Conflict(f"unit {unit.callsign} has no open assignment to acknowledge")
            if acked == unit:
                return a
            await dispatch_store.save_unit(conn, unit, acked)
            a = replace(a, acknowledged_at=now)
            await dispatch_store.save_assignment(conn, a)
            await events.append(
                conn,
                [
                    NewEvent(
                        "unit.acknowledged",
                        "unit",
                        unit.id,
                        {"incident_id": a.incident_id, "at": now.isoformat()},
                        actor,
                    )
                ],
            )
            return a

    async def report_status(
        self, unit_id: str, to: UnitStatus, actor: str, reason: str = ""
    ) -> Unit:
        """A unit's new status, from its terminal or a dispatcher on the radio."""
        if to is UnitStatus.DISPATCHED:
            raise InvalidInput("units are dispatched by assigning them to an incident")
        now = self.now()
        async with self.engine.begin() as conn:
            unit = await dispatch_store.get_unit(conn, unit_id)
            a = await dispatch_store.open_assignment(conn, unit.id)
            inc = None
            if a is not None:
                inc = await incidents_store.get(conn, a.incident_id, lock=True)
            moved, ev = transition(unit, to, now, reason=reason)
            saved = await dispatch_store.save_unit(conn, unit, moved)
            await dispatch_store.record_status(conn, ev, actor)
            evs = [_unit_event(ev, actor, callsign=unit.callsign)]
            if a is not None and inc is not None:
                if to in ASSIGNED:
                    await dispatch_store.save_assignment(conn, stamp(a, to, now))
                    inc, status_evs = await self._advance(conn, inc, to, now, actor)
                    evs += status_evs
                else:
                    why = (
                        EndReason.OUT_OF_SERVICE
                        if to is UnitStatus.OUT_OF_SERVICE
                        else EndReason.CLEARED
                        if a.on_scene_at is not None
                        else EndReason.CANCELLED
                    )
                    await dispatch_store.save_assignment(conn, end(a, why, now))
                    evs.append(
                        NewEvent(
                            "assignment.ended",
                            "incident",
                            str(inc.id),
                            {"unit_id": unit.id, "reason": why.value},
                            actor,
                        )
                    )
                    evs += await self._after_unit_left(conn, inc, now, actor)
            await events.append(conn, evs)
            return saved

    async def _release(
        self,
        conn: AsyncConnection,
        a: Assignment,
        to: UnitStatus,
        why: EndReason,
        now: datetime,
        actor: str,
        reason: str,
    ) -> list[NewEvent]:
        unit = await dispatch_store.get_unit(conn, a.unit_id)
        moved, ev = transition(unit, to, now, reason=reason)
        await dispatch_store.save_unit(conn, unit, moved)
        await dispatch_store.record_status(conn, ev, actor)
        await dispatch_store.save_assignment(conn, end(a, why, now))
        return [
            _unit_event(ev, actor, callsign=unit.callsign),
            NewEvent(
                "assignment.ended",
                "incident",
                str(a.incident_id),
                {"unit_id": unit.id, "reason": why.value},
                actor,
            ),
        ]

    async def _open_assignment_on(
        self, conn: AsyncConnection, inc: Incident, unit_id: str
    ) -> Assignment:
        a = await dispatch_store.open_assignment(conn, unit_id)
        if a is None or a.incident_id != inc.id:
            await dispatch_store.get_unit(conn, unit_id)  # NotFound for an unknown unit
            raise Conflict(f"unit {unit_id} is not assigned to incident {inc.number}")
        return a

    async def cancel_assignment(
        self,
        incident_id: int,
        unit_id: str,
        actor: str,
        reason: str = "",
        *,
        level: CommandLevel | None = None,
    ) -> Unit:
        """Call a unit off an incident; it becomes available."""
        now = self.now()
        async with self.engine.begin() as conn:
            inc = await self._directed(conn, incident_id, level)
            a = await self._open_assignment_on(conn, inc, unit_id)
            evs = await self._release(
                conn,
                a,
                UnitStatus.AVAILABLE,
                EndReason.CANCELLED,
                now,
                actor,
                reason or f"cancelled from {inc.number}",
            )
            evs += await self._after_unit_left(conn, inc, now, actor)
            await events.append(conn, evs)
            return await dispatch_store.get_unit(conn, unit_id)

    async def reassign(
        self,
        incident_id: int,
        from_unit: str,
        to_unit: str,
        actor: str,
        *,
        divert: bool = False,
        level: CommandLevel | None = None,
    ) -> Assigned:
        """Replace one unit by another on an incident, in one transaction."""
        if from_unit == to_unit:
            raise InvalidInput("reassign to a different unit")
        now = self.now()
        async with self.engine.begin() as conn:
            inc = await self._directed(conn, incident_id, level)
            self._check_assignable(inc)
            a = await self._open_assignment_on(conn, inc, from_unit)
            evs = await self._release(
                conn,
                a,
                UnitStatus.AVAILABLE,
                EndReason.REASSIGNED,
                now,
                actor,
                f"replaced by {to_unit} on {inc.number}",
            )
            [unit] = await dispatch_store.get_units(conn, [to_unit])
            made, unit_evs = await self._dispatch_one(conn, inc, unit, now, actor, divert)
            await incidents_store.add_narrative(
                conn,
                inc.id,
                domain.narrative_entry(
                    f"reassigned: {unit.callsign} replaces {from_unit}", actor, now, "system"
                ),
            )
            await events.append(conn, [*evs, *unit_evs])
            return Assigned(inc, [made])

    # ------------------------------------------------------------------ units

    async def unit_for_principal(self, unit_id: str, principal_name: str, roles: set[str]) -> None:
        """A field terminal acts only for its own unit (the device is named after it)."""
        if roles & {"dispatcher", "supervisor", "admin"}:
            return
        if principal_name != unit_id:
            async with self.engine.connect() as conn:
                unit = await dispatch_store.get_unit(conn, unit_id)
            if principal_name != unit.callsign:
                raise Forbidden(
                    f"this terminal ({principal_name}) reports for its own unit only, "
                    f"not for {unit_id}"
                )

    async def current_assignment(self, unit_id: str) -> dict[str, Any] | None:
        """What a unit's terminal shows: its open assignment and the incident it is for."""
        async with self.engine.connect() as conn:
            unit = await dispatch_store.get_unit(conn, unit_id)
            a = await dispatch_store.open_assignment(conn, unit.id)
            if a is None:
                return None
            inc = await incidents_store.get(conn, a.incident_id)
            return {
                "assignment": _assignment_json(a),
                "unit_status": unit.status.value,
                "incident": {
                    "id": inc.id,
                    "number": inc.number,
                    "type": inc.type_code,
                    "type_names": dict(self.config.taxonomy.types[inc.type_code].names)
                    if inc.type_code in self.config.taxonomy.types
                    else {},
                    "priority": inc.priority,
                    "status": inc.status.value,
                    "lon": inc.lon,
                    "lat": inc.lat,
                    "address": inc.address,
                    "cross_streets": inc.cross_streets,
                    "summary": inc.summary,
                },
            }

    async def units(self) -> list[Unit]:
        async with self.engine.connect() as conn:
            return await dispatch_store.list_units(conn)

    async def unit(self, unit_id: str) -> Unit:
        async with self.engine.connect() as conn:
            return await dispatch_store.get_unit(conn, unit_id)

    async def incident_numbers(self, ids: set[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        async with self.engine.connect() as conn:
            for i in sorted(ids):
                try:
                    out[i] = (await incidents_store.get(conn, i)).number
                except NotFound:
                    continue
        return out


def _require_open(inc: Incident) -> None:
    if not inc.open:
        raise Conflict(f"incident {inc.number} is {inc.status}")
