"""Incidents over HTTP: create (with duplicate hints and, on request, the recommendation), link
calls, narrative, status, levels, merge, recommendation, assignment, and response-time figures
(JSON and CSV).

Roles: call-takers create incidents and link calls; dispatchers also assign units; leaders and
supervisors read and escalate. Sensitive incidents (``command.incidents.access``): every route
under ``/{incident_id}`` checks the caller may read it (404 as for a missing incident when not),
lists, duplicate hints and the CSV export leave out what the caller may not read, and
supervisors or the incident's creator mark and unmark it (``PUT /{incident_id}/sensitivity``).
Tiered command: directing an incident (status, priority, levels, merge, assignment) needs a
command level at or above the one that owns it; the services check it. Every refusal is a clear
4xx and changes nothing.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from command.api.deps import (
    ContainerDep,
    changes_nothing,
    client_address,
    origin_of,
    require_roles,
)
from command.api.incident_access import incident_reader, reader_of, route_of
from command.api.schemas.incidents import (
    AssignedOut,
    AssignIn,
    AssignmentOut,
    CallIn,
    CancelIn,
    CreatedOut,
    DuplicateOut,
    DuplicatesIn,
    DuplicatesOut,
    EscalateIn,
    FiguresOut,
    GroupOut,
    IncidentDetailOut,
    IncidentEnvelope,
    IncidentIn,
    IncidentList,
    IncidentOut,
    IncidentRecommendationOut,
    IncidentTypes,
    LevelIn,
    MergeIn,
    NoteIn,
    NoteOut,
    PriorityIn,
    ReasonIn,
    ReassignIn,
    RecommendationOut,
    RecommendIn,
    StatusIn,
    UnitReleasedOut,
)
from command.api.schemas.sensitivity import SensitivityIn, SensitivityOut
from command.api.schemas.tracks import IncidentTracksOut
from command.auth.roles import Role
from command.auth.service import Principal
from command.dispatching.assignments import Assigned
from command.incidents import response_times
from command.incidents.access import MarkingIn
from command.incidents.domain import CommandLevel, DuplicateHint, Incident, parse_status
from command.incidents.service import NewIncident
from telephony.phone import normal_number

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])

R = Role
READERS = (R.CALL_TAKER, R.DISPATCHER, R.LEADER, R.SUPERVISOR, R.ADMIN)
CREATORS = (R.CALL_TAKER, R.DISPATCHER, R.SUPERVISOR)
DISPATCHERS = (R.DISPATCHER, R.SUPERVISOR)
COMMANDERS = (R.DISPATCHER, R.SUPERVISOR, R.LEADER)
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
Creator = Annotated[Principal, Depends(require_roles(*CREATORS))]
Figures = Annotated[Principal, Depends(require_roles(R.LEADER, R.SUPERVISOR, R.ADMIN))]
# The same roles, on a route under /{incident_id}: the caller must also be allowed to read it.
ReaderOf = Annotated[Principal, Depends(incident_reader(*READERS))]
CreatorOf = Annotated[Principal, Depends(incident_reader(*CREATORS))]
DispatcherOf = Annotated[Principal, Depends(incident_reader(*DISPATCHERS))]
CommanderOf = Annotated[Principal, Depends(incident_reader(*COMMANDERS))]
# Marking: supervisors, and the incident's creator (the service checks which).
Marker = Annotated[Principal, Depends(require_roles(*CREATORS))]


def level_of(who: Principal) -> CommandLevel | None:
    """The command level the caller directs at (None: the centre's top level)."""
    return None if who.command_level is None else CommandLevel.parse(who.command_level)


def _envelope(inc: Incident, c: ContainerDep) -> IncidentEnvelope:
    return IncidentEnvelope(incident=IncidentOut.of(inc, c.config))


def _assigned(done: Assigned, c: ContainerDep) -> AssignedOut:
    return AssignedOut(
        incident=IncidentOut.of(done.incident, c.config),
        assignments=[AssignmentOut.of(a) for a in done.assignments],
    )


# ---------------------------------------------------------------------- logging


@router.post("/duplicates", dependencies=[Depends(changes_nothing)])
async def duplicates(
    body: DuplicatesIn, request: Request, who: Creator, c: ContainerDep
) -> DuplicatesOut:
    hints = await c.incidents.preview_duplicates(body.type, body.lon, body.lat)
    return DuplicatesOut(probable_duplicates=await _readable_hints(hints, request, who, c))


async def _readable_hints(
    hints: list[DuplicateHint], request: Request, who: Principal, c: ContainerDep
) -> list[DuplicateOut]:
    """Probable duplicates name incidents: only those the caller may read."""
    shown = await c.access.readable(
        (h.incident_id for h in hints), reader_of(who), route_of(request), client_address(request)
    )
    return [DuplicateOut.of(h) for h in hints if h.incident_id in shown]


def _wanted(body: SensitivityIn) -> MarkingIn:
    return MarkingIn(body.sensitive, body.reason, tuple(body.roles), tuple(body.users))


@router.post("", status_code=201)
async def create(body: IncidentIn, request: Request, who: Creator, c: ContainerDep) -> CreatedOut:
    new = NewIncident(
        type_code=body.type,
        lon=body.lon,
        lat=body.lat,
        priority=body.priority,
        response_level=body.response_level,
        address=body.address,
        cross_streets=body.cross_streets,
        caller_name=body.caller_name,
        caller_phone=normal_number(body.caller_phone) if body.caller_phone else body.caller_phone,
        summary=body.summary,
        call_id=body.call_id,
        call_answered_at=body.call_answered_at,
    )
    marked = None
    if body.sensitivity is not None and body.sensitivity.sensitive:
        marked = c.access.draft(_wanted(body.sensitivity), client_address(request))
    advice = None
    if body.recommend:
        created, found = await c.recommender.create_and_recommend(
            new, who.actor, body.requirements, marked=marked
        )
        advice = RecommendationOut.of(found.source, found.recommendation)
    else:
        created = await c.incidents.create(new, who.actor, marked=marked)
    return CreatedOut(
        incident=IncidentOut.of(created.incident, c.config),
        probable_duplicates=await _readable_hints(created.duplicates, request, who, c),
        recommendation=advice,
    )


# ---------------------------------------------------------------------- reading


@router.get("")
async def list_open(
    request: Request, who: Reader, c: ContainerDep, level: str | None = None
) -> IncidentList:
    chosen = None if level is None else CommandLevel.parse(level)
    found = await c.incidents.list_open(chosen)
    shown = await c.access.readable(
        (i.id for i in found), reader_of(who), route_of(request), client_address(request)
    )
    return IncidentList(incidents=[IncidentOut.of(i, c.config) for i in found if i.id in shown])


@router.get("/types")
async def types(_: Reader, c: ContainerDep) -> IncidentTypes:
    return IncidentTypes.of(c.config, await c.fleet.cards_now())


@router.get("/response-times")
async def figures(
    _: Figures,
    c: ContainerDep,
    since: datetime | None = None,
    until: datetime | None = None,
    group_by: Annotated[list[str] | None, Query()] = None,
    period: str = "all",
    type: str | None = None,
    jurisdiction: str | None = None,
) -> FiguresOut:
    found = await c.incidents.figures(
        since, until, group_by or ["category"], period, type, jurisdiction
    )
    return FiguresOut(
        since=found.since, until=found.until, groups=[GroupOut.of(g) for g in found.groups]
    )


@router.get(
    "/response-times.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per incident"}},
)
async def figures_csv(
    request: Request,
    who: Figures,
    c: ContainerDep,
    since: datetime | None = None,
    until: datetime | None = None,
    type: str | None = None,
    jurisdiction: str | None = None,
) -> Response:
    times = await c.incidents.times(since, until, type, jurisdiction)
    shown = await c.access.readable(
        (t.incident_id for t in times), reader_of(who), route_of(request), client_address(request)
    )
    times = [t for t in times if t.incident_id in shown]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(response_times.CSV_COLUMNS))
    writer.writeheader()
    writer.writerows(response_times.csv_rows(times))
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="response-times.csv"'},
    )


@router.get("/by-number/{number}")
async def by_number(
    number: str, request: Request, who: Reader, c: ContainerDep
) -> IncidentEnvelope:
    inc = await c.incidents.by_number(number)
    await c.access.check(inc.id, reader_of(who), route_of(request), client_address(request))
    return _envelope(inc, c)


@router.get("/{incident_id}")
async def detail(incident_id: int, _: ReaderOf, c: ContainerDep) -> IncidentDetailOut:
    return IncidentDetailOut.of(await c.incidents.detail(incident_id), c.config)


@router.get("/{incident_id}/tracks")
async def tracks(
    incident_id: int, _: ReaderOf, c: ContainerDep, simplify: float = 10.0
) -> IncidentTracksOut:
    """Where each unit assigned to the incident was while it was assigned (playback)."""
    return IncidentTracksOut.of(await c.playback.incident(incident_id, simplify))


@router.put("/{incident_id}/sensitivity")
async def mark(
    incident_id: int, body: SensitivityIn, request: Request, who: Marker, c: ContainerDep
) -> SensitivityOut:
    """Mark the incident sensitive (only the roles and users named may read it) or lift it."""
    origin = origin_of(request, who)
    marking = await c.access.mark(incident_id, _wanted(body), reader_of(who), origin.source)
    return SensitivityOut.of(incident_id, marking)


@router.get("/{incident_id}/sensitivity")
async def sensitivity(
    incident_id: int, request: Request, who: Reader, c: ContainerDep
) -> SensitivityOut:
    """The marking in force: for supervisors and for those it names."""
    marking = await c.access.marking(
        incident_id, reader_of(who), route_of(request), client_address(request)
    )
    return SensitivityOut.of(incident_id, marking)


# ---------------------------------------------------------------------- calls, narrative


@router.post("/{incident_id}/calls")
async def link_call(
    incident_id: int, body: CallIn, who: CreatorOf, c: ContainerDep
) -> IncidentEnvelope:
    inc = await c.incidents.link_call(
        incident_id, body.call_id, body.answered_at, body.caller_phone, who.actor
    )
    return _envelope(inc, c)


@router.post("/{incident_id}/narrative", status_code=201)
async def add_note(incident_id: int, body: NoteIn, who: CreatorOf, c: ContainerDep) -> NoteOut:
    return NoteOut.of(await c.incidents.add_note(incident_id, body.text, who.actor))


# ---------------------------------------------------------------------- directing


@router.post("/{incident_id}/status")
async def change_status(
    incident_id: int, body: StatusIn, who: DispatcherOf, c: ContainerDep
) -> IncidentEnvelope:
    inc = await c.incidents.change_status(
        incident_id,
        parse_status(body.status),
        who.actor,
        body.reason,
        body.version,
        level=level_of(who),
    )
    return _envelope(inc, c)


@router.post("/{incident_id}/reopen")
async def reopen(
    incident_id: int, body: ReasonIn, who: DispatcherOf, c: ContainerDep
) -> IncidentEnvelope:
    inc = await c.incidents.reopen(incident_id, body.reason, who.actor, level=level_of(who))
    return _envelope(inc, c)


@router.post("/{incident_id}/priority")
async def set_priority(
    incident_id: int, body: PriorityIn, who: CreatorOf, c: ContainerDep
) -> IncidentEnvelope:
    inc = await c.incidents.set_priority(
        incident_id, body.priority, who.actor, body.version, level=level_of(who)
    )
    return _envelope(inc, c)


@router.post("/{incident_id}/response-level")
async def response_level(
    incident_id: int, body: LevelIn, who: CommanderOf, c: ContainerDep
) -> IncidentEnvelope:
    inc = await c.incidents.change_response_level(
        incident_id,
        body.level,
        body.reason,
        who.actor,
        level=level_of(who),
        roles=frozenset(who.roles),
    )
    return _envelope(inc, c)


@router.post("/{incident_id}/escalate")
async def escalate(
    incident_id: int, body: EscalateIn, who: CommanderOf, c: ContainerDep
) -> IncidentEnvelope:
    inc = await c.incidents.escalate(
        incident_id, body.to, body.reason, who.actor, level=level_of(who)
    )
    return _envelope(inc, c)


@router.post("/{incident_id}/merge")
async def merge(
    incident_id: int, body: MergeIn, request: Request, who: DispatcherOf, c: ContainerDep
) -> IncidentEnvelope:
    # Merging reads the absorbed incident too.
    await c.access.check(
        body.absorbed_id, reader_of(who), route_of(request), client_address(request)
    )
    inc = await c.incidents.merge(incident_id, body.absorbed_id, who.actor, level=level_of(who))
    return _envelope(inc, c)


# ---------------------------------------------------------------------- dispatching


@router.post("/{incident_id}/recommendation", dependencies=[Depends(changes_nothing)])
async def recommendation(
    incident_id: int, _: DispatcherOf, c: ContainerDep, body: RecommendIn | None = None
) -> IncidentRecommendationOut:
    found = await c.recommender.for_incident(incident_id, body.requirements if body else None)
    out = RecommendationOut.of(found.source, found.recommendation)
    return IncidentRecommendationOut(
        incident_id=found.incident.id, number=found.incident.number, **out.model_dump()
    )


@router.post("/{incident_id}/assignments", status_code=201)
async def assign(
    incident_id: int, body: AssignIn, who: DispatcherOf, c: ContainerDep
) -> AssignedOut:
    done = await c.assignments.assign(
        incident_id, body.unit_ids, who.actor, divert=body.divert, level=level_of(who)
    )
    return _assigned(done, c)


@router.post("/{incident_id}/assignments/{unit_id}/cancel")
async def cancel_assignment(
    incident_id: int,
    unit_id: str,
    who: DispatcherOf,
    c: ContainerDep,
    body: CancelIn | None = None,
) -> UnitReleasedOut:
    unit = await c.assignments.cancel(
        incident_id, unit_id, who.actor, body.reason if body else "", level=level_of(who)
    )
    return UnitReleasedOut(unit_id=unit.id, status=unit.status.value)


@router.post("/{incident_id}/reassign")
async def reassign(
    incident_id: int, body: ReassignIn, who: DispatcherOf, c: ContainerDep
) -> AssignedOut:
    done = await c.assignments.reassign(
        incident_id,
        body.from_unit,
        body.to_unit,
        who.actor,
        divert=body.divert,
        level=level_of(who),
    )
    return _assigned(done, c)
