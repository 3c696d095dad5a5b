"""Incidents over HTTP: create (with duplicate hints), link calls, narrative, status, levels,
merge, recommendation, assignment, and response-time figures (JSON and CSV).

Roles: call-takers create incidents and link calls; dispatchers also assign units; leaders and
supervisors read everything and escalate. Tiered command: directing an incident (status,
priority, levels, merge, assignment) needs a command level at or above the one that owns it; the
service checks it. Every refusal is a clear 4xx and changes nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from command.api.deps import ContainerDep, require_roles
from command.auth.roles import Role
from command.auth.service import Principal
from command.bootstrap import Container
from command.errors import InvalidInput
from command.incidents import response_times
from command.incidents import store as incidents_store
from command.incidents.config import load_config
from command.incidents.domain import CommandLevel, DuplicateHint, Incident, parse_status
from command.incidents.service import IncidentConfig, IncidentService, NewIncident
from dispatch.recommend import Recommendation

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])

R = Role
Reader = Annotated[
    Principal, Depends(require_roles(R.CALL_TAKER, R.DISPATCHER, R.LEADER, R.SUPERVISOR, R.ADMIN))
]
Creator = Annotated[Principal, Depends(require_roles(R.CALL_TAKER, R.DISPATCHER, R.SUPERVISOR))]
Dispatcher = Annotated[Principal, Depends(require_roles(R.DISPATCHER, R.SUPERVISOR))]
Commander = Annotated[Principal, Depends(require_roles(R.DISPATCHER, R.SUPERVISOR, R.LEADER))]
Figures = Annotated[Principal, Depends(require_roles(R.LEADER, R.SUPERVISOR, R.ADMIN))]

_configs: dict[Path | None, IncidentConfig] = {}


def config_for(container: Container) -> IncidentConfig:
    """The centre's incident settings: the JSON file named by the ``incidents_config`` setting
    when there is one (read once), else the defaults."""
    path = container.settings.incidents_config
    key = Path(path) if path else None
    if key not in _configs:
        _configs[key] = load_config(key)
    return _configs[key]


def get_service(container: ContainerDep) -> IncidentService:
    return IncidentService(
        container.engine, config_for(container), container.clock, container.roads.drive_times
    )


Service = Annotated[IncidentService, Depends(get_service)]


def level_of(who: Principal) -> CommandLevel | None:
    """The command level the caller directs at (None: the centre's top level)."""
    return None if who.command_level is None else CommandLevel.parse(who.command_level)


# ---------------------------------------------------------------------- bodies


class IncidentIn(BaseModel):
    type: str = Field(min_length=1, max_length=100)
    lon: float
    lat: float
    priority: int | None = None
    response_level: str | int | None = None
    address: str = Field(default="", max_length=500)
    cross_streets: str = Field(default="", max_length=500)
    caller_name: str = Field(default="", max_length=200)
    caller_phone: str = Field(default="", max_length=50)
    summary: str = Field(default="", max_length=8000)
    call_id: str | None = Field(default=None, max_length=200)
    call_answered_at: datetime | None = None
    recommend: bool = Field(
        default=False, description="also answer with the unit recommendation (run card)"
    )
    requirements: dict[str, int] | None = Field(
        default=None, description="capability -> count, e.g. from a matched plan"
    )


class DuplicatesIn(BaseModel):
    type: str = Field(min_length=1, max_length=100)
    lon: float
    lat: float


class CallIn(BaseModel):
    call_id: str = Field(min_length=1, max_length=200)
    answered_at: datetime | None = None
    caller_phone: str = Field(default="", max_length=50)


class NoteIn(BaseModel):
    text: str = Field(max_length=8000)


class StatusIn(BaseModel):
    status: str
    reason: str = Field(default="", max_length=2000)
    version: int | None = None


class ReasonIn(BaseModel):
    reason: str = Field(max_length=2000)


class PriorityIn(BaseModel):
    priority: int
    version: int | None = None


class LevelIn(BaseModel):
    level: str | int
    reason: str = Field(max_length=2000)


class EscalateIn(BaseModel):
    to: str
    reason: str = Field(max_length=2000)


class MergeIn(BaseModel):
    absorbed_id: int


class RecommendIn(BaseModel):
    requirements: dict[str, int] | None = None


class AssignIn(BaseModel):
    unit_ids: list[str] = Field(min_length=1, max_length=50)
    divert: bool = False


class ReassignIn(BaseModel):
    from_unit: str
    to_unit: str
    divert: bool = False


class CancelIn(BaseModel):
    reason: str = Field(default="", max_length=2000)


# ---------------------------------------------------------------------- JSON


def incident_json(inc: Incident, config: IncidentConfig) -> dict[str, Any]:
    out = asdict(inc)
    out["type"] = out.pop("type_code")
    out["status"] = inc.status.value
    out["response_level"] = inc.response_level.name
    out["command_level"] = inc.command_level.label
    name = config.taxonomy.types.get(inc.type_code)
    out["type_names"] = dict(name.names) if name else {}
    return out


def duplicates_json(hints: list[DuplicateHint]) -> list[dict[str, Any]]:
    return [
        {
            "incident_id": h.incident_id,
            "number": h.number,
            "type": h.type_code,
            "distance_m": round(h.distance_m, 1),
            "minutes_apart": round(h.minutes_apart, 1),
        }
        for h in hints
    ]


def recommendation_json(rec: Recommendation) -> dict[str, Any]:
    return {
        "requirements": {c.value: n for c, n in rec.requirements.items()},
        "complete": rec.complete,
        "uncovered": {c.value: n for c, n in rec.uncovered.items()},
        "chosen": [
            {
                "unit_id": c.unit_id,
                "callsign": c.callsign,
                "drive_time_s": round(c.drive_time_s, 1),
                "origin": c.origin,
                "covers": [x.value for x in c.covers],
                "also": [x.value for x in c.also],
                "reason": c.reason,
            }
            for c in rec.chosen
        ],
        "not_chosen": [
            {
                "unit_id": r.unit_id,
                "callsign": r.callsign,
                "code": r.code,
                "reason": r.reason,
                "drive_time_s": None if r.drive_time_s is None else round(r.drive_time_s, 1),
                "detail": dict(r.detail),
            }
            for r in rec.rejected
        ],
    }


# ---------------------------------------------------------------------- incidents


@router.post("/duplicates")
async def duplicates(body: DuplicatesIn, _: Creator, service: Service) -> dict[str, Any]:
    hints = await service.preview_duplicates(body.type, body.lon, body.lat)
    return {"probable_duplicates": duplicates_json(hints)}


@router.post("", status_code=201)
async def create(body: IncidentIn, who: Creator, service: Service) -> dict[str, Any]:
    new = NewIncident(
        type_code=body.type,
        lon=body.lon,
        lat=body.lat,
        priority=body.priority,
        response_level=body.response_level,
        address=body.address,
        cross_streets=body.cross_streets,
        caller_name=body.caller_name,
        caller_phone=body.caller_phone,
        summary=body.summary,
        call_id=body.call_id,
        call_answered_at=body.call_answered_at,
    )
    if body.recommend:
        created, advice = await service.create_and_recommend(new, who.actor, body.requirements)
        return {
            "incident": incident_json(created.incident, service.config),
            "probable_duplicates": duplicates_json(created.duplicates),
            "recommendation": {
                "source": advice.source,
                **recommendation_json(advice.recommendation),
            },
        }
    created = await service.create(new, who.actor)
    return {
        "incident": incident_json(created.incident, service.config),
        "probable_duplicates": duplicates_json(created.duplicates),
    }


@router.get("")
async def list_open(_: Reader, service: Service, level: str | None = None) -> dict[str, Any]:
    chosen = None if level is None else CommandLevel.parse(level)
    return {
        "incidents": [incident_json(i, service.config) for i in await service.list_open(chosen)]
    }


@router.get("/types")
async def types(_: Reader, service: Service) -> dict[str, Any]:
    config = service.config
    return {
        "types": [
            {
                "code": t.code,
                "names": dict(t.names),
                "default_priority": t.default_priority,
                "run_card": {c.value: n for c, n in config.run_cards.for_type(t.code).items()},
            }
            for t in config.taxonomy.types.values()
        ]
    }


def _window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    end = until or datetime.now(UTC)
    start = since or end - timedelta(days=30)
    if start >= end:
        raise InvalidInput("since must be before until")
    return start, end


@router.get("/response-times")
async def figures(
    _: Figures,
    container: ContainerDep,
    since: datetime | None = None,
    until: datetime | None = None,
    group_by: Annotated[list[str] | None, Query()] = None,
    period: str = "all",
    type: str | None = None,
    jurisdiction: str | None = None,
) -> dict[str, Any]:
    start, end = _window(since, until)
    async with container.engine.connect() as conn:
        times = await incidents_store.times_between(
            conn, start, end, type_prefix=type, jurisdiction=jurisdiction
        )
    groups = response_times.report(
        times,
        group_by=group_by or ["category"],
        period=period,
        targets=config_for(container).targets,
    )
    return {
        "since": start,
        "until": end,
        "groups": [
            {
                "key": dict(g.key),
                "incidents": g.incidents,
                "intervals": {
                    name: {
                        "count": s.count,
                        "p50_s": s.p50,
                        "p90_s": s.p90,
                        "max_s": s.maximum,
                        "distribution": [{"bucket": b, "count": n} for b, n in s.distribution],
                    }
                    for name, s in g.intervals.items()
                },
                "targets": [
                    {
                        "name": t.target.name,
                        "interval": t.target.interval,
                        "limit_s": t.target.limit_s,
                        "share_required": t.target.share,
                        "count": t.count,
                        "met": t.met,
                        "share_met": t.share_met,
                        "passed": t.passed,
                    }
                    for t in g.targets
                ],
            }
            for g in groups
        ],
    }


@router.get("/response-times.csv")
async def figures_csv(
    _: Figures,
    container: ContainerDep,
    since: datetime | None = None,
    until: datetime | None = None,
    type: str | None = None,
    jurisdiction: str | None = None,
) -> Response:
    start, end = _window(since, until)
    async with container.engine.connect() as conn:
        times = await incidents_store.times_between(
            conn, start, end, type_prefix=type, jurisdiction=jurisdiction
        )
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
    number: str, _: Reader, container: ContainerDep, service: Service
) -> dict[str, Any]:
    async with container.engine.connect() as conn:
        inc = await incidents_store.get_by_number(conn, number)
    return {"incident": incident_json(inc, service.config)}


@router.get("/{incident_id}")
async def detail(incident_id: int, _: Reader, service: Service) -> dict[str, Any]:
    found = await service.detail(incident_id)
    return {**found, "incident": incident_json(found["incident"], service.config)}


@router.post("/{incident_id}/calls")
async def link_call(
    incident_id: int, body: CallIn, who: Creator, service: Service
) -> dict[str, Any]:
    inc = await service.link_call(
        incident_id, body.call_id, body.answered_at, body.caller_phone, who.actor
    )
    return {"incident": incident_json(inc, service.config)}


@router.post("/{incident_id}/narrative", status_code=201)
async def add_note(incident_id: int, body: NoteIn, who: Creator, service: Service) -> Any:
    return await service.add_note(incident_id, body.text, who.actor)


@router.post("/{incident_id}/status")
async def change_status(
    incident_id: int, body: StatusIn, who: Dispatcher, service: Service
) -> dict[str, Any]:
    inc = await service.change_status(
        incident_id,
        parse_status(body.status),
        who.actor,
        body.reason,
        body.version,
        level=level_of(who),
    )
    return {"incident": incident_json(inc, service.config)}


@router.post("/{incident_id}/reopen")
async def reopen(
    incident_id: int, body: ReasonIn, who: Dispatcher, service: Service
) -> dict[str, Any]:
    return {
        "incident": incident_json(
            await service.reopen(incident_id, body.reason, who.actor, level=level_of(who)),
            service.config,
        )
    }


@router.post("/{incident_id}/priority")
async def set_priority(
    incident_id: int, body: PriorityIn, who: Creator, service: Service
) -> dict[str, Any]:
    inc = await service.set_priority(
        incident_id, body.priority, who.actor, body.version, level=level_of(who)
    )
    return {"incident": incident_json(inc, service.config)}


@router.post("/{incident_id}/response-level")
async def response_level(
    incident_id: int, body: LevelIn, who: Commander, service: Service
) -> dict[str, Any]:
    inc = await service.change_response_level(
        incident_id, body.level, body.reason, who.actor, level=level_of(who)
    )
    return {"incident": incident_json(inc, service.config)}


@router.post("/{incident_id}/escalate")
async def escalate(
    incident_id: int, body: EscalateIn, who: Commander, service: Service
) -> dict[str, Any]:
    inc = await service.escalate(incident_id, body.to, body.reason, who.actor, level=level_of(who))
    return {"incident": incident_json(inc, service.config)}


@router.post("/{incident_id}/merge")
async def merge(
    incident_id: int, body: MergeIn, who: Dispatcher, service: Service
) -> dict[str, Any]:
    return {
        "incident": incident_json(
            await service.merge(incident_id, body.absorbed_id, who.actor, level=level_of(who)),
            service.config,
        )
    }


@router.post("/{incident_id}/recommendation")
async def recommendation(
    incident_id: int, _: Dispatcher, service: Service, body: RecommendIn | None = None
) -> dict[str, Any]:
    found = await service.recommend(incident_id, body.requirements if body else None)
    return {
        "incident_id": found.incident.id,
        "number": found.incident.number,
        "source": found.source,
        **recommendation_json(found.recommendation),
    }


@router.post("/{incident_id}/assignments", status_code=201)
async def assign(
    incident_id: int, body: AssignIn, who: Dispatcher, service: Service
) -> dict[str, Any]:
    done = await service.assign(
        incident_id, body.unit_ids, who.actor, divert=body.divert, level=level_of(who)
    )
    return {
        "incident": incident_json(done.incident, service.config),
        "assignments": [asdict(a) for a in done.assignments],
    }


@router.post("/{incident_id}/assignments/{unit_id}/cancel")
async def cancel_assignment(
    incident_id: int,
    unit_id: str,
    who: Dispatcher,
    service: Service,
    body: CancelIn | None = None,
) -> dict[str, Any]:
    unit = await service.cancel_assignment(
        incident_id, unit_id, who.actor, body.reason if body else "", level=level_of(who)
    )
    return {"unit_id": unit.id, "status": unit.status.value}


@router.post("/{incident_id}/reassign")
async def reassign(
    incident_id: int, body: ReassignIn, who: Dispatcher, service: Service
) -> dict[str, Any]:
    done = await service.reassign(
        incident_id,
        body.from_unit,
        body.to_unit,
        who.actor,
        divert=body.divert,
        level=level_of(who),
    )
    return {
        "incident": incident_json(done.incident, service.config),
        "assignments": [asdict(a) for a in done.assignments],
    }
