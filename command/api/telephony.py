"""``/api/v1/telephony``: seats, call actions, statistics, text/alarm intake, caller location,
and the screen-pop websocket of a call-taker's console.

Screen pops: ``/api/v1/telephony/ws?seat=<interface>&token=<token>``. The console of the person
signed in on that seat (or a supervisor) gets, at once, a ``screen_pop`` message for every call
or report offered to the seat (and those ringing or connected when it connects). Everything else
(call and seat transitions, telephony health) is on the event stream ``/api/v1/events/ws``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field

from command import audit
from command.api.deps import ContainerDep, audit_source, websocket_principal
from command.api.deps import require_roles as roles
from command.auth.roles import Role
from command.auth.service import Principal
from command.bootstrap import Container
from command.errors import Forbidden, InvalidInput
from command.telephony_service import TelephonyService, require
from telephony.calls import CallKind
from telephony.store import Report

router = APIRouter(prefix="/api/v1/telephony", tags=["telephony"])

TAKERS = (Role.CALL_TAKER, Role.SUPERVISOR, Role.ADMIN)
SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
INTAKE = (Role.CALL_TAKER, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
Taker = Annotated[Principal, Depends(roles(*TAKERS))]
Supervisor = Annotated[Principal, Depends(roles(*SUPERVISORS))]
Intake = Annotated[Principal, Depends(roles(*INTAKE))]
Viewer = Annotated[Principal, Depends(roles(*TAKERS, Role.DISPATCHER, Role.LEADER))]

Interface = Annotated[str, Field(min_length=3, max_length=100, examples=["Local/1001@agents"])]
Number = Annotated[str, Field(min_length=2, max_length=32, pattern=r"^\+?[0-9]{2,20}$")]


def service(container: ContainerDep) -> TelephonyService:
    return require(container)


Service = Annotated[TelephonyService, Depends(service)]


class SignIn(BaseModel):
    interface: Interface
    name: str = Field(default="", max_length=80)
    queues: list[str] = Field(default_factory=list, max_length=20)
    paused: bool = False
    reason: str | None = Field(default=None, max_length=80)


class SeatRef(BaseModel):
    interface: Interface


class Pause(BaseModel):
    interface: Interface
    reason: str = Field(min_length=1, max_length=80, examples=["break", "paperwork"])


class Transfer(BaseModel):
    exten: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z*#+_.-]+$")
    context: str | None = Field(default=None, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")
    attended: bool = False


class Helper(BaseModel):
    helper: Interface


class Spy(BaseModel):
    supervisor: Interface
    mode: Literal["listen", "whisper", "barge"] = "listen"


class CallBack(BaseModel):
    interface: Interface
    number: Number


class Sms(BaseModel):
    sender: Number
    text: str = Field(min_length=1, max_length=2000)
    external_id: str | None = Field(default=None, max_length=120)
    lat: float | None = None
    lon: float | None = None


class Alarm(BaseModel):
    source: str = Field(min_length=1, max_length=120, examples=["fire-panel-17"])
    text: str = Field(min_length=1, max_length=2000)
    sender: str = Field(default="", max_length=32)
    external_id: str | None = Field(default=None, max_length=120)
    lat: float | None = None
    lon: float | None = None
    address: str | None = Field(default=None, max_length=300)
    payload: dict[str, Any] = Field(default_factory=dict)


class Location(BaseModel):
    number: Number
    lat: float
    lon: float
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    source: str = Field(default="device", min_length=1, max_length=60)


async def _audit(
    container: Container,
    request: Request,
    who: Principal,
    action: str,
    object_type: str,
    object_id: str,
    **detail: Any,
) -> None:
    """Call-centre actions on calls are audited (who listened in, hung up, transferred ...)."""
    async with container.engine.begin() as conn:
        await audit.record(
            conn,
            actor=who.actor,
            action=f"telephony.{action}",
            object_type=object_type,
            object_id=object_id,
            source=audit_source(request),
            result="ok",
            detail=detail,
        )


async def _own_seat(svc: TelephonyService, who: Principal, interface: str) -> None:
    """A call-taker acts on their own seat; supervisors and admins on any."""
    if who.has_any(frozenset(SUPERVISORS)):
        return
    owner = await svc.seat_owner(interface)
    if owner != who.name:
        raise Forbidden(f"{interface} is not the seat {who.name} is signed in on")


# ------------------------------------------------------------------ health, seats


@router.get("/health")
async def health(_: Viewer, svc: Service) -> dict[str, Any]:
    stats = svc.bridge.stats
    return {
        **svc.health.as_json(),
        "connected": svc.bridge.connected,
        "live_calls": len(svc.bridge.tracker.live_calls()),
        "resyncs": stats.resyncs,
        "overflows": stats.overflows,
        "skipped": svc.bridge.tracker.skipped,
    }


@router.get("/seats")
async def list_seats(_: Viewer, svc: Service) -> dict[str, Any]:
    return {"seats": await svc.seats()}


@router.post("/seats/sign-in", status_code=202)
async def sign_in(body: SignIn, who: Taker, svc: Service) -> dict[str, Any]:
    owner = await svc.seat_owner(body.interface)
    if owner and owner != who.name and not who.has_any(frozenset(SUPERVISORS)):
        seat = svc.bridge.tracker.seats.get(body.interface)
        if seat is not None and seat.queues:
            raise Forbidden(f"{owner} is signed in on {body.interface}")
    await svc.sign_in(
        who.name, body.interface, body.name or body.interface, body.queues, body.paused, body.reason
    )
    return {"interface": body.interface, "username": who.name}


@router.post("/seats/pause", status_code=202)
async def pause(body: Pause, who: Taker, svc: Service) -> dict[str, Any]:
    await _own_seat(svc, who, body.interface)
    await svc.bridge.pause(body.interface, body.reason)
    return {"interface": body.interface, "paused": True, "reason": body.reason}


@router.post("/seats/resume", status_code=202)
async def resume(body: SeatRef, who: Taker, svc: Service) -> dict[str, Any]:
    await _own_seat(svc, who, body.interface)
    await svc.bridge.resume(body.interface)
    return {"interface": body.interface, "paused": False}


@router.post("/seats/sign-out", status_code=202)
async def sign_out(body: SeatRef, who: Taker, svc: Service) -> dict[str, Any]:
    await _own_seat(svc, who, body.interface)
    await svc.bridge.sign_out(body.interface)
    return {"interface": body.interface, "signed_out": True}


# ------------------------------------------------------------------ calls


@router.get("/calls")
async def live_calls(_: Viewer, svc: Service) -> dict[str, Any]:
    return {"calls": svc.live_calls()}


@router.get("/calls/{call_id}")
async def call_detail(call_id: str, _: Viewer, svc: Service) -> dict[str, Any]:
    return await svc.call_detail(call_id)


async def _seat_of_call(svc: TelephonyService, who: Principal, call_id: str) -> None:
    call = svc.bridge.call(call_id)
    if call.seat:
        await _own_seat(svc, who, call.seat)
    elif not who.has_any(frozenset(SUPERVISORS)):
        raise Forbidden(f"call {call_id} is not on a seat of {who.name}")


@router.post("/calls/{call_id}/transfer", status_code=202)
async def transfer(
    call_id: str,
    body: Transfer,
    who: Taker,
    svc: Service,
    container: ContainerDep,
    request: Request,
) -> dict[str, Any]:
    await _seat_of_call(svc, who, call_id)
    await svc.transfer(call_id, body.exten, body.context, body.attended, who.actor)
    await _audit(
        container,
        request,
        who,
        "transfer",
        "call",
        call_id,
        exten=body.exten,
        context=body.context,
        attended=body.attended,
    )
    return {"call_id": call_id, "to": body.exten, "attended": body.attended}


@router.post("/calls/{call_id}/consult", status_code=202)
async def consult(
    call_id: str, body: Helper, who: Taker, svc: Service, container: ContainerDep, request: Request
) -> dict[str, Any]:
    await _seat_of_call(svc, who, call_id)
    await svc.consult(call_id, body.helper)
    await _audit(container, request, who, "consult", "call", call_id, helper=body.helper)
    return {"call_id": call_id, "helper": body.helper, "mode": "consult"}


@router.post("/calls/{call_id}/conference", status_code=202)
async def conference(
    call_id: str, body: Helper, who: Taker, svc: Service, container: ContainerDep, request: Request
) -> dict[str, Any]:
    await _seat_of_call(svc, who, call_id)
    await svc.conference(call_id, body.helper)
    await _audit(container, request, who, "conference", "call", call_id, helper=body.helper)
    return {"call_id": call_id, "helper": body.helper, "mode": "conference"}


@router.post("/calls/{call_id}/spy", status_code=202)
async def spy(
    call_id: str,
    body: Spy,
    who: Supervisor,
    svc: Service,
    container: ContainerDep,
    request: Request,
) -> dict[str, Any]:
    await svc.spy(call_id, body.supervisor, body.mode)
    await _audit(
        container, request, who, "spy", "call", call_id, mode=body.mode, supervisor=body.supervisor
    )
    return {"call_id": call_id, "supervisor": body.supervisor, "mode": body.mode}


@router.post("/calls/{call_id}/grab", status_code=202)
async def grab(
    call_id: str, body: SeatRef, who: Taker, svc: Service, container: ContainerDep, request: Request
) -> dict[str, Any]:
    await _own_seat(svc, who, body.interface)
    await svc.grab(call_id, body.interface)
    await _audit(container, request, who, "grab", "call", call_id, seat=body.interface)
    return {"call_id": call_id, "grabbed_by": body.interface}


@router.post("/calls/{call_id}/hangup", status_code=202)
async def hangup(
    call_id: str, who: Taker, svc: Service, container: ContainerDep, request: Request
) -> dict[str, Any]:
    await _seat_of_call(svc, who, call_id)
    await svc.hangup(call_id)
    await _audit(container, request, who, "hangup", "call", call_id)
    return {"call_id": call_id, "hangup": True}


@router.post("/callback", status_code=202)
async def call_back(
    body: CallBack, who: Taker, svc: Service, container: ContainerDep, request: Request
) -> dict[str, Any]:
    await _own_seat(svc, who, body.interface)
    action = await svc.call_back(body.interface, body.number)
    await _audit(container, request, who, "call_back", "seat", body.interface, number=body.number)
    return {"interface": body.interface, "number": body.number, "action_id": action}


@router.post("/calls/{call_id}/recording/start", status_code=201)
async def recording_start(call_id: str, who: Taker, svc: Service) -> dict[str, Any]:
    await _seat_of_call(svc, who, call_id)
    return await svc.start_recording(call_id, who.actor)


@router.post("/calls/{call_id}/recording/stop")
async def recording_stop(call_id: str, who: Taker, svc: Service) -> dict[str, Any]:
    await _seat_of_call(svc, who, call_id)
    return {"call_id": call_id, "stopped": await svc.stop_recording(call_id, who.actor)}


# ------------------------------------------------------------------ statistics


@router.get("/stats")
async def statistics(
    _: Viewer,
    svc: Service,
    since: datetime | None = None,
    until: datetime | None = None,
    hours: Annotated[float, Query(gt=0, le=24 * 366)] = 24.0,
) -> dict[str, Any]:
    end = until or svc.clock()
    start = since or end - timedelta(hours=hours)
    for value, name in ((start, "since"), (end, "until")):
        if value.tzinfo is None:
            raise InvalidInput(f"'{name}' needs a time zone (e.g. 2026-11-21T08:00Z)")
    queues, seats = await svc.statistics(start, end)
    return {
        "since": start.astimezone(UTC).isoformat(),
        "until": end.astimezone(UTC).isoformat(),
        "queues": {k: v.as_json() for k, v in queues.items()},
        "seats": {k: v.as_json() for k, v in seats.items()},
    }


# ------------------------------------------------------------------ intake


@router.post("/intake/sms", status_code=201)
async def intake_sms(body: Sms, who: Intake, svc: Service) -> dict[str, Any]:
    return await svc.intake(
        Report(
            kind=CallKind.SMS,
            sender=body.sender,
            body=body.text,
            queue=_queue(svc),
            external_id=body.external_id,
            source="sms",
            lat=body.lat,
            lon=body.lon,
        ),
        who.actor,
    )


@router.post("/intake/alarm", status_code=201)
async def intake_alarm(body: Alarm, who: Intake, svc: Service) -> dict[str, Any]:
    return await svc.intake(
        Report(
            kind=CallKind.ALARM,
            sender=body.sender or body.source,
            body=body.text,
            queue=_queue(svc),
            external_id=body.external_id,
            source=body.source,
            lat=body.lat,
            lon=body.lon,
            address=body.address,
            payload=body.payload,
        ),
        who.actor,
    )


def _queue(svc: TelephonyService) -> str:
    return svc.config.ami.queues[0] if svc.config.ami.queues else "emergency"


@router.post("/reports/{call_id}/accept", status_code=202)
async def accept_report(call_id: str, body: SeatRef, who: Taker, svc: Service) -> dict[str, Any]:
    await _own_seat(svc, who, body.interface)
    await svc.move_report(call_id, "answered", body.interface, who.actor)
    return {"call_id": call_id, "accepted_by": body.interface}


@router.post("/reports/{call_id}/complete", status_code=202)
async def complete_report(call_id: str, who: Taker, svc: Service) -> dict[str, Any]:
    await svc.move_report(call_id, "completed", None, who.actor)
    await svc.move_report(call_id, "ended", None, who.actor)
    return {"call_id": call_id, "completed": True}


@router.post("/locations", status_code=201)
async def push_location(body: Location, who: Intake, svc: Service) -> dict[str, Any]:
    loc_id = await svc.push_location(body.number, body.lat, body.lon, body.accuracy_m, body.source)
    return {"id": loc_id, "number": body.number}


# ------------------------------------------------------------------ screen pop websocket


@router.websocket("/ws")
async def screen_pops(ws: WebSocket) -> None:
    container: Container = ws.app.state.container
    principal = await websocket_principal(ws, container, set(TAKERS))
    if principal is None:
        return
    svc = require(container)
    seat = ws.query_params.get("seat", "")
    if not seat:
        await ws.close(code=4422, reason="pass ?seat=<interface> (e.g. Local/1001@agents)")
        return
    if not principal.has_any(frozenset(SUPERVISORS)):
        owner = await svc.seat_owner(seat)
        if owner != principal.name:
            await ws.close(code=4403, reason=f"{seat} is not the seat of {principal.name}")
            return
    queue = svc.pops.subscribe(seat)
    try:
        await ws.send_text(
            json.dumps({"type": "hello", "seat": seat, "health": svc.health.as_json()})
        )
        for pop in await svc.current_pops(seat):
            await ws.send_text(json.dumps(pop, default=str))
        receiver = asyncio.create_task(_drain(ws))
        try:
            while not receiver.done():
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait(
                    {getter, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                    break
                message = getter.result()
                await ws.send_text(json.dumps(message, default=str))
                svc.sent(message)
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await receiver
    except WebSocketDisconnect:
        pass
    finally:
        svc.pops.unsubscribe(seat, queue)


async def _drain(ws: WebSocket) -> None:
    """Read (and ignore) what the console sends, to notice when it goes away."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await ws.receive_text()
