"""Live unit positions for the consoles' map: ``/api/v1/tracking/ws?token=T``.

The console subscribes to a viewport and/or units and gets a snapshot of the current picture,
then batches of changed positions, sent as soon as its socket is free and coalesced per unit
while it is busy (and paced, if ``CAD_TRACKING_RATE_HZ`` is set).
The protocol is ``docs/protocols/console-tracking.md``; the session is
``command.tracking.consoles``.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from command.api.deps import received_frame, websocket_principal
from command.api.events import CONSOLE_ROLES
from command.bootstrap import Container
from command.tracking.consoles import ConsoleSession

router = APIRouter(prefix="/api/v1/tracking", tags=["tracking"])


@router.websocket("/ws")
async def stream(ws: WebSocket) -> None:
    container: Container = ws.app.state.container
    if await websocket_principal(ws, container, CONSOLE_ROLES) is None:
        return

    await ConsoleSession(container.fanout, ws.send_text, lambda: received_frame(ws)).run()
