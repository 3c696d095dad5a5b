"""The call centre over HTTP: the link's health, seats (sign in, pause, resume, sign out),
live calls and their history, call actions (transfer, consult, conference, listen-in, grab,
hang-up, call back, recording), statistics, text and alarm intake, pushed caller locations, and
the call-taker's screen-pop websocket.

Roles: call-takers act on their own seat and its calls; supervisors on any; who may act where is
the call-taking service's rule, and every action on a call is audited there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, WebSocket, WebSocketDisconnect

from command.api.deps import ContainerDep, client_address, origin_of, websocket_principal
from command.api.deps import require_roles as roles
from command.api.incident_access import reader_of, route_of
from command.api.schemas.telephony import (
    Alarm,
    CallBack,
    CallBackOut,
    CallDetailOut,
    FiguresOut,
    GrabbedOut,
    Helper,
    HelperOut,
    HungUpOut,
    IntakeOut,
    LiveCallOut,
    LiveCallsOut,
    Location,
    LocationOut,
    Pause,
    RecordingStartedOut,
    RecordingStoppedOut,
    ReportAccepted,
    ReportCompleted,
    SeatOut,
    SeatPaused,
    SeatRef,
    SeatSignedIn,
    SeatSignedOut,
    SeatsOut,
    SignIn,
    Sms,
    Spy,
    SpyOut,
    StatisticsOut,
    TelephonyHealthOut,
    Transfer,
    TransferOut,
)
from command.auth.roles import Role
from command.auth.service import Principal
from command.bootstrap import Container
from command.errors import Forbidden, InvalidInput
from telephony.calls import CallKind, Report

router = APIRouter(prefix="/api/v1/telephony", tags=["telephony"])

TAKERS = (Role.CALL_TAKER, Role.SUPERVISOR, Role.ADMIN)
SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
# An SMS gateway or alarm panel (the intake role) reports here, and nowhere else.
INTAKE = (Role.INTAKE, Role.CALL_TAKER, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
Taker = Annotated[Principal, Depends(roles(*TAKERS))]
Supervisor = Annotated[Principal, Depends(roles(*SUPERVISORS))]
Intake = Annotated[Principal, Depends(roles(*INTAKE))]
Viewer = Annotated[Principal, Depends(roles(*TAKERS, Role.DISPATCHER, Role.LEADER))]


# ------------------------------------------------------------------ health, seats


@router.get("/health")
async def health(_: Viewer, c: ContainerDep) -> TelephonyHealthOut:
    return TelephonyHealthOut.model_validate(c.telephony.link_status())


@router.get("/seats")
async def list_seats(_: Viewer, c: ContainerDep) -> SeatsOut:
    return SeatsOut(seats=[SeatOut.model_validate(s) for s in await c.telephony.seats()])


@router.post("/seats/sign-in", status_code=202)
async def sign_in(body: SignIn, who: Taker, c: ContainerDep) -> SeatSignedIn:
    await c.telephony.check_sign_in(who, body.interface)
    await c.telephony.sign_in(
        who.name, body.interface, body.name or body.interface, body.queues, body.paused, body.reason
    )
    return SeatSignedIn(interface=body.interface, username=who.name)


@router.post("/seats/pause", status_code=202)
async def pause(body: Pause, who: Taker, c: ContainerDep) -> SeatPaused:
    await c.telephony.check_seat(who, body.interface)
    await c.telephony.pause(body.interface, body.reason)
    return SeatPaused(interface=body.interface, paused=True, reason=body.reason)


@router.post("/seats/resume", status_code=202)
async def resume(body: SeatRef, who: Taker, c: ContainerDep) -> SeatPaused:
    await c.telephony.check_seat(who, body.interface)
    await c.telephony.resume(body.interface)
    return SeatPaused(interface=body.interface, paused=False)


@router.post("/seats/sign-out", status_code=202)
async def sign_out(body: SeatRef, who: Taker, c: ContainerDep) -> SeatSignedOut:
    await c.telephony.check_seat(who, body.interface)
    await c.telephony.sign_out(body.interface)
    return SeatSignedOut(interface=body.interface, signed_out=True)


# ------------------------------------------------------------------ calls


@router.get("/calls")
async def live_calls(_: Viewer, c: ContainerDep) -> LiveCallsOut:
    return LiveCallsOut(calls=[LiveCallOut.model_validate(x) for x in c.telephony.live_calls()])


@router.get("/calls/{call_id}")
async def call_detail(call_id: str, _: Viewer, c: ContainerDep) -> CallDetailOut:
    return CallDetailOut.model_validate(await c.telephony.call_detail(call_id))


@router.post("/calls/{call_id}/transfer", status_code=202)
async def transfer(
    call_id: str, body: Transfer, who: Taker, c: ContainerDep, request: Request
) -> TransferOut:
    await c.telephony.check_call(who, call_id)
    await c.telephony.transfer(
        call_id, body.exten, body.context, body.attended, origin_of(request, who)
    )
    return TransferOut(call_id=call_id, to=body.exten, attended=body.attended)


@router.post("/calls/{call_id}/consult", status_code=202)
async def consult(
    call_id: str, body: Helper, who: Taker, c: ContainerDep, request: Request
) -> HelperOut:
    await c.telephony.check_call(who, call_id)
    await c.telephony.consult(call_id, body.helper, origin_of(request, who))
    return HelperOut(call_id=call_id, helper=body.helper, mode="consult")


@router.post("/calls/{call_id}/conference", status_code=202)
async def conference(
    call_id: str, body: Helper, who: Taker, c: ContainerDep, request: Request
) -> HelperOut:
    await c.telephony.check_call(who, call_id)
    await c.telephony.conference(call_id, body.helper, origin_of(request, who))
    return HelperOut(call_id=call_id, helper=body.helper, mode="conference")


@router.post("/calls/{call_id}/spy", status_code=202)
async def spy(
    call_id: str, body: Spy, who: Supervisor, c: ContainerDep, request: Request
) -> SpyOut:
    await c.telephony.spy(call_id, body.supervisor, body.mode, origin_of(request, who))
    return SpyOut(call_id=call_id, supervisor=body.supervisor, mode=body.mode)


@router.post("/calls/{call_id}/grab", status_code=202)
async def grab(
    call_id: str, body: SeatRef, who: Taker, c: ContainerDep, request: Request
) -> GrabbedOut:
    await c.telephony.check_seat(who, body.interface)
    await c.telephony.grab(call_id, body.interface, origin_of(request, who))
    return GrabbedOut(call_id=call_id, grabbed_by=body.interface)


@router.post("/calls/{call_id}/hangup", status_code=202)
async def hangup(call_id: str, who: Taker, c: ContainerDep, request: Request) -> HungUpOut:
    await c.telephony.check_call(who, call_id)
    await c.telephony.hangup(call_id, origin_of(request, who))
    return HungUpOut(call_id=call_id, hangup=True)


@router.post("/callback", status_code=202)
async def call_back(body: CallBack, who: Taker, c: ContainerDep, request: Request) -> CallBackOut:
    await c.telephony.check_seat(who, body.interface)
    if body.incident_id is not None:  # the call is linked to it: a read of the incident
        await c.access.check(
            body.incident_id, reader_of(who), route_of(request), client_address(request)
        )
    action, made = await c.telephony.call_back(body.interface, body.number,
                                               origin_of(request, who), body.call_id,
                                               body.incident_id)
    return CallBackOut(interface=body.interface, number=body.number, action_id=action,
                       call_id=made)


@router.post("/calls/{call_id}/recording/start", status_code=201)
async def recording_start(call_id: str, who: Taker, c: ContainerDep) -> RecordingStartedOut:
    await c.telephony.check_call(who, call_id)
    return RecordingStartedOut.model_validate(await c.telephony.start_recording(call_id, who.actor))


@router.post("/calls/{call_id}/recording/stop")
async def recording_stop(call_id: str, who: Taker, c: ContainerDep) -> RecordingStoppedOut:
    await c.telephony.check_call(who, call_id)
    stopped = await c.telephony.stop_recording(call_id, who.actor)
    return RecordingStoppedOut(call_id=call_id, stopped=stopped)


# ------------------------------------------------------------------ statistics


@router.get("/stats")
async def statistics(
    _: Viewer,
    c: ContainerDep,
    since: datetime | None = None,
    until: datetime | None = None,
    hours: Annotated[float, Query(gt=0, le=24 * 366)] = 24.0,
) -> StatisticsOut:
    end = until or c.clock()
    start = since or end - timedelta(hours=hours)
    for value, name in ((start, "since"), (end, "until")):
        if value.tzinfo is None:
            raise InvalidInput(
                f"'{name}' needs a time zone (e.g. 2026-11-21T08:00Z)",
                code="stats.time_zone_missing",
                field=name,
            )
    queues, seats = await c.telephony.statistics(start, end)
    return StatisticsOut(
        since=start.astimezone(UTC),
        until=end.astimezone(UTC),
        queues={k: FiguresOut.model_validate(v.as_json()) for k, v in queues.items()},
        seats={k: FiguresOut.model_validate(v.as_json()) for k, v in seats.items()},
    )


# ------------------------------------------------------------------ intake


@router.post("/intake/sms", status_code=201)
async def intake_sms(body: Sms, who: Intake, c: ContainerDep) -> IntakeOut:
    report = Report(
        kind=CallKind.SMS,
        sender=body.sender,
        body=body.text,
        queue=c.telephony.intake_queue,
        external_id=body.external_id,
        source="sms",
        lat=body.lat,
        lon=body.lon,
    )
    return IntakeOut.model_validate(await c.telephony.intake(report, who.actor))


@router.post("/intake/alarm", status_code=201)
async def intake_alarm(body: Alarm, who: Intake, c: ContainerDep) -> IntakeOut:
    report = Report(
        kind=CallKind.ALARM,
        sender=body.sender or body.source,
        body=body.text,
        queue=c.telephony.intake_queue,
        external_id=body.external_id,
        source=body.source,
        lat=body.lat,
        lon=body.lon,
        address=body.address,
        payload=body.payload,
    )
    return IntakeOut.model_validate(await c.telephony.intake(report, who.actor))


@router.post("/reports/{call_id}/accept", status_code=202)
async def accept_report(call_id: str, body: SeatRef, who: Taker, c: ContainerDep) -> ReportAccepted:
    await c.telephony.check_seat(who, body.interface)
    await c.telephony.move_report(call_id, "answered", body.interface, who.actor)
    return ReportAccepted(call_id=call_id, accepted_by=body.interface)


@router.post("/reports/{call_id}/complete", status_code=202)
async def complete_report(call_id: str, who: Taker, c: ContainerDep) -> ReportCompleted:
    await c.telephony.move_report(call_id, "completed", None, who.actor)
    await c.telephony.move_report(call_id, "ended", None, who.actor)
    return ReportCompleted(call_id=call_id, completed=True)


@router.post("/locations", status_code=201)
async def push_location(body: Location, who: Intake, c: ContainerDep) -> LocationOut:
    loc_id = await c.telephony.push_location(
        body.number, body.lat, body.lon, body.accuracy_m, body.source
    )
    return LocationOut(id=loc_id, number=body.number)


# ------------------------------------------------------------------ screen pop websocket


@router.websocket("/ws")
async def screen_pops(ws: WebSocket) -> None:
    container: Container = ws.app.state.container
    principal = await websocket_principal(ws, container, set(TAKERS))
    if principal is None:
        return
    svc = container.telephony
    seat = ws.query_params.get("seat", "")
    if not seat:
        await ws.close(code=4422, reason="pass ?seat=<interface> (e.g. Local/1001@agents)")
        return
    try:
        await svc.check_seat(principal, seat)
    except Forbidden as exc:
        await ws.close(code=4403, reason=exc.message[:120])
        return
    queue = await svc.watch(seat)
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
        await svc.unwatch(seat, queue)


async def _drain(ws: WebSocket) -> None:
    """Read (and ignore) what the console sends, to notice when it goes away."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await ws.receive_text()
