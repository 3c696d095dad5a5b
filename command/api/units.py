"""Units over HTTP: the dispatchers' status board with timer alerts, one unit, and the unit
terminal's assignment, acknowledgment and status reports (a field terminal only for its own
unit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from command.api.deps import ContainerDep, client_address, require_roles
from command.api.incident_access import reader_of, route_of
from command.api.schemas.incidents import AssignmentOut
from command.api.schemas.tracks import UnitTrackOut
from command.api.schemas.units import (
    AcknowledgedOut,
    BoardOut,
    CurrentAssignmentOut,
    MessageIn,
    MessageSentOut,
    StatusIn,
    TerminalIncidentOut,
    UnitOut,
)
from command.auth.roles import Role
from command.auth.service import Principal
from command.dispatching.unit_status import FOR_ANY_UNIT
from dispatch.units import parse_status

router = APIRouter(prefix="/api/v1/units", tags=["units"])

R = Role
Reader = Annotated[
    Principal, Depends(require_roles(R.DISPATCHER, R.CALL_TAKER, R.LEADER, R.SUPERVISOR, R.ADMIN))
]
Dispatcher = Annotated[Principal, Depends(require_roles(R.DISPATCHER, R.SUPERVISOR))]
Reporter = Annotated[Principal, Depends(require_roles(R.FIELD_UNIT, R.DISPATCHER, R.SUPERVISOR))]


async def _own(unit_id: str, who: Principal, c: ContainerDep) -> None:
    await c.unit_status.check_reporter(unit_id, who.name, {r.value for r in who.roles})


@router.get("/board")
async def board(who: Reader, c: ContainerDep) -> BoardOut:
    """Every unit with its status and incident, the counts per status, and the timer alerts
    (a unit on a sensitive incident the caller may not read shows no incident)."""
    found = await c.unit_status.board()
    return BoardOut.of(found, await c.access.unreadable(found.numbers, reader_of(who)))


@router.get("/{unit_id}")
async def one(unit_id: str, who: Reader, c: ContainerDep) -> UnitOut:
    unit = await c.unit_status.unit(unit_id)
    numbers = await c.incidents.numbers({unit.incident_id} if unit.incident_id else set())
    return UnitOut.of(unit, numbers, await c.access.unreadable(numbers, reader_of(who)))


@router.get("/{unit_id}/track")
async def track(
    unit_id: str,
    _: Reader,
    c: ContainerDep,
    since: datetime | None = None,
    until: datetime | None = None,
    simplify: float = 10.0,
) -> UnitTrackOut:
    """Where the unit was from ``since`` to ``until`` (ISO 8601 with a zone; by default the
    last 24 hours): every fix, the line, and the line simplified within ``simplify`` metres."""
    return UnitTrackOut.of(await c.playback.unit(unit_id, since, until, simplify))


@router.get("/{unit_id}/assignment")
async def assignment(
    unit_id: str, request: Request, who: Reporter, c: ContainerDep
) -> CurrentAssignmentOut:
    """The unit's open assignment with its incident (``assignment`` null when it has none)."""
    await _own(unit_id, who, c)
    found = await c.assignments.current(unit_id)
    if found is None:
        return CurrentAssignmentOut(assignment=None, incident=None)
    inc = found.incident
    if who.roles & FOR_ANY_UNIT:  # a dispatcher: reads it as any incident
        await c.access.check(inc.id, reader_of(who), route_of(request), client_address(request))
    else:  # the unit's own crew: need-to-know
        await c.access.need_to_know(inc.id, who.actor, route_of(request))
    kind = c.config.taxonomy.types.get(inc.type_code)
    return CurrentAssignmentOut(
        assignment=AssignmentOut.of(found.assignment),
        unit_status=found.unit_status.value,
        incident=TerminalIncidentOut(
            id=inc.id,
            number=inc.number,
            type=inc.type_code,
            type_names=dict(kind.names) if kind else {},
            priority=inc.priority,
            status=inc.status.value,
            lon=inc.lon,
            lat=inc.lat,
            address=inc.address,
            cross_streets=inc.cross_streets,
            summary=inc.summary,
        ),
    )


@router.post("/{unit_id}/acknowledge")
async def acknowledge(unit_id: str, who: Reporter, c: ContainerDep) -> AcknowledgedOut:
    await _own(unit_id, who, c)
    a = await c.unit_status.acknowledge(unit_id, who.actor)
    return AcknowledgedOut(
        unit_id=unit_id, incident_id=a.incident_id, acknowledged_at=a.acknowledged_at
    )


@router.post("/{unit_id}/status")
async def report_status(unit_id: str, body: StatusIn, who: Reporter, c: ContainerDep) -> UnitOut:
    await _own(unit_id, who, c)
    unit = await c.unit_status.report(unit_id, parse_status(body.status), who.actor, body.reason)
    return UnitOut.of(unit)


@router.post("/{unit_id}/messages")
async def message(
    unit_id: str, body: MessageIn, who: Dispatcher, c: ContainerDep
) -> MessageSentOut:
    """A text message to the unit's terminals (pushed at once to every open one)."""
    await c.terminals.message(unit_id, body.text, who.actor)
    return MessageSentOut(unit_id=unit_id, text=body.text)
