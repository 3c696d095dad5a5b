"""The signaling websocket of a consultation: ``/api/v1/consultations/{id}/ws``
(protocol version 1, ``docs/protocols/video.md``).

A participant connects with its token (a person's session or a unit's device token). It is
admitted by the consultation service (an uninvited or removed one is refused with 4403, a
consultation that does not exist with 4404, one that ended with 4410, each with its code as
the reason), joined, and greeted with ``hello``; then every frame it sends is answered, and
the channel (``command.consulting.signaling``) tells it what happens in the room. A socket
that drops is a participant gone: its media legs are closed and it is recorded as left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from command.api.deps import WS_FORBIDDEN, client_address, received_frame, websocket_principal
from command.auth.roles import Role
from command.bootstrap import Container
from command.consulting.signaling import ENDED, Channel
from command.errors import CadError
from command.eventhub import Lagged
from video.errors import VideoError
from video.ice import ice_servers

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/consultations", tags=["consultations"])

NO_SUCH = 4404
TRY_AGAIN_LATER = 1013
PARTICIPANT_ROLES = frozenset(
    {Role.CALL_TAKER, Role.DISPATCHER, Role.LEADER, Role.SUPERVISOR, Role.ADMIN, Role.FIELD_UNIT}
)


def _close_code(exc: CadError | VideoError) -> int:
    """A refusal's close code, from its kind (docs/protocols/video.md)."""
    if exc.kind == "not_found":
        return NO_SUCH
    if exc.code == "consultation.ended":
        return ENDED
    if exc.kind == "unavailable":
        return TRY_AGAIN_LATER
    return WS_FORBIDDEN


@router.websocket("/{consultation_id}/ws")
async def signaling(ws: WebSocket, consultation_id: int) -> None:
    container: Container = ws.app.state.container
    principal = await websocket_principal(ws, container, PARTICIPANT_ROLES)
    if principal is None:
        return
    source = client_address(ws)
    service = container.consultations
    try:
        # The admission is checked under the consultation's lock, and a refusal audited.
        admission = await service.joined(consultation_id, principal, source)
    except (CadError, VideoError) as exc:
        await ws.close(code=_close_code(exc), reason=exc.code)
        return
    try:
        plane, room = await container.media_rooms.room(
            admission.room, f"consultation {consultation_id}", admission.bitrate_kbps
        )
    except VideoError as exc:
        with contextlib.suppress(CadError, VideoError):
            await service.left(consultation_id, principal, "media_unavailable", source)
        await ws.close(code=TRY_AGAIN_LATER, reason=exc.code)
        return
    channel = Channel(service, container.media_rooms, admission, principal, source, plane, room)
    # The same participant connected again (a vehicle that changed networks): the old
    # socket is closed with 4409, and its end is not a leaving.
    container.signaling_channels.add(channel)
    settings = container.settings
    servers = ice_servers(
        stun=[u.strip() for u in settings.video_stun.split(",") if u.strip()],
        turn=[u.strip() for u in settings.video_turn.split(",") if u.strip()],
        turn_secret=settings.video_turn_secret or None,
        who=admission.member.key,
        now=time.time(),
        ttl_s=settings.video_turn_ttl_s,
    )
    reason = "lost"
    try:
        await channel.open([s.as_json() for s in servers])
        reason = await _converse(ws, channel, container)
    except (WebSocketDisconnect, RuntimeError):
        pass
    except VideoError as exc:
        log.warning("signaling of %s ended: %s", admission.member.key, exc)
        reason = "media_unavailable"
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await ws.close(code=TRY_AGAIN_LATER, reason=exc.code)
    finally:
        container.signaling_channels.remove(channel)
        await channel.close(reason)


async def _converse(ws: WebSocket, channel: Channel, container: Container) -> str:
    """Frames in and out until the socket drops or the channel ends; why it ended."""
    hub = container.hub.subscribe()

    async def send() -> None:
        while True:
            await ws.send_text(await channel.outbox.get())

    async def receive() -> None:
        while (raw := await received_frame(ws)) is not None:
            await channel.handle(raw)

    async def events() -> None:
        while True:
            try:
                event = await hub.get()
            except Lagged:
                continue
            if event.type.startswith("consultation."):
                await channel.consultation_event(event)

    tasks = [asyncio.create_task(t()) for t in (send, receive, events)]
    try:
        waited: list[asyncio.Future[Any]] = [*tasks, channel.closing]
        done, _ = await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
        if channel.closing.done():
            closing = channel.closing.result()
            # What is queued (the ack of a leave, the ``ended`` frame) goes out first.
            while not channel.outbox.empty():
                await ws.send_text(channel.outbox.get_nowait())
            await ws.close(code=closing.code, reason=closing.reason)
            return closing.reason.removeprefix("consultation.")
        for task in tasks:
            if task in done and task.exception() is not None:
                log.warning("signaling of %s failed", channel.member, exc_info=task.exception())
        return "lost"
    finally:
        container.hub.unsubscribe(hub)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
