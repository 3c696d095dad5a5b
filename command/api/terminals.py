"""The unit terminal websocket ``/api/v1/units/ws`` (protocol version 1, docs/protocols/unit.md).

A terminal connects with its device token (``?token=`` or a bearer header); a missing or bad
token is refused with close code 4401, a token that is no unit's terminal with 4403, each with
a reason. It gets ``hello`` and its current assignment, then every frame it sends is answered
(``ack`` or ``error``) and what concerns its unit is pushed to it. A terminal whose outbox
overflows is closed with 1013 and reconnects (it gets its current assignment again).
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from command.api.deps import WS_FORBIDDEN, client_address, received_frame, websocket_principal
from command.auth.roles import Role
from command.bootstrap import Container
from command.errors import CadError
from command.tracking.terminals import Session

router = APIRouter(prefix="/api/v1/units", tags=["units"])

TRY_AGAIN_LATER = 1013


@router.websocket("/ws")
async def terminal(ws: WebSocket) -> None:
    container: Container = ws.app.state.container
    principal = await websocket_principal(ws, container, {Role.FIELD_UNIT})
    if principal is None:
        return
    terminals = container.terminals
    try:
        session = await terminals.open(principal, client_address(ws))
    except CadError as exc:
        await ws.close(code=WS_FORBIDDEN, reason=exc.message[:120])
        return
    try:
        for frame in await terminals.greeting(session):
            await ws.send_json(frame)
        await _converse(ws, session, container)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        terminals.close(session)


async def _converse(ws: WebSocket, session: Session, container: Container) -> None:
    async def send() -> None:
        while True:
            await ws.send_json(await session.outbox.get())

    async def receive() -> None:
        while (raw := await received_frame(ws)) is not None:
            await session.outbox.put(await container.terminals.handle(session, raw))

    tasks = [
        asyncio.create_task(send()),
        asyncio.create_task(receive()),
        asyncio.create_task(session.lagged.wait()),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if tasks[2] in done:
            await ws.close(code=TRY_AGAIN_LATER, reason="too far behind: reconnect")
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
