"""The event stream for consoles: a websocket that resumes from the last sequence seen.

``/api/v1/events/ws?after=N&token=T`` sends every committed event after N, in order, exactly
once, then live ones, as JSON text frames. A console that reconnects passes the last ``seq`` it
processed; a new one starts after ``GET /api/v1/events/head``. ``GET /api/v1/events?after=N``
pages through the same log. Both leave out the events
of sensitive incidents the console's user may not read, and the incident from units' events
(``command.incidents.access``); a page's ``last_seq`` still moves past them.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, WebSocket, WebSocketDisconnect

from command.api.deps import ContainerDep, client_address, require_roles, websocket_principal
from command.api.incident_access import reader_of, route_of
from command.api.request_guard import INT64_MAX
from command.api.schemas.events import EventHead, EventOut, EventPage
from command.auth.roles import Role
from command.auth.service import Principal
from command.bootstrap import Container

router = APIRouter(prefix="/api/v1/events", tags=["events"])

# Field terminals get their own channel (their assignments); the log is for the command centre.
CONSOLE_ROLES = frozenset(
    {Role.CALL_TAKER, Role.DISPATCHER, Role.LEADER, Role.SUPERVISOR, Role.ADMIN}
)
Console = Annotated[Principal, Depends(require_roles(*CONSOLE_ROLES))]


@router.get("")
async def read(
    request: Request,
    who: Console,
    container: ContainerDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> EventPage:
    batch = await container.hub.page(after, limit)
    reader = reader_of(who)
    shown = [s for e in batch if (s := container.access.screen(e, reader)) is not None]
    await container.access.delivered(
        {i for _, marked in shown for i in marked},
        reader,
        route_of(request),
        client_address(request),
    )
    return EventPage(
        events=[EventOut.model_validate(e.to_json()) for e, _ in shown],
        last_seq=batch[-1].seq if batch else after,
    )


@router.get("/head")
async def head(_: Console, container: ContainerDep) -> EventHead:
    """Where a console that signs in starts: it loads the current picture from the resources,
    then follows the stream after this sequence number, not the whole history of the log."""
    return EventHead(last_seq=container.hub.last_seq)


@router.websocket("/ws")
async def stream(ws: WebSocket) -> None:
    container: Container = ws.app.state.container
    principal = await websocket_principal(ws, container, CONSOLE_ROLES)
    if principal is None:
        return
    raw_after = ws.query_params.get("after", "0")
    if not raw_after.isdigit() or int(raw_after) > INT64_MAX:
        await ws.close(code=4400, reason="after must be a sequence number (0 or more)")
        return

    reader = reader_of(principal)
    route, source = route_of(ws), client_address(ws)
    audited: set[int] = set()  # marked incidents whose events this console was sent

    async def pump() -> None:
        async for event in container.hub.stream(int(raw_after)):
            screened = container.access.screen(event, reader)
            if screened is None:
                continue  # about a sensitive incident this console may not read
            sent, marked = screened
            if fresh := marked - audited:
                await container.access.delivered(fresh, reader, route, source)
                audited.update(fresh)
            await ws.send_json(sent.to_json())

    async def until_closed() -> None:
        # Notice a client that left even while no events flow, and free its subscription.
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass

    tasks = [asyncio.create_task(pump()), asyncio.create_task(until_closed())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
