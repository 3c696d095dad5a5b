"""The edge of every websocket: the Origin check, and a connection that can be closed from
outside its handler (when its token ends: ``command.auth.revocations``).

An ASGI middleware, so that it covers every websocket route, present and future:

- a handshake from an origin that is not allowed (``command.api.ws_origin``) is accepted and
  closed at once with ``WS_ORIGIN_REFUSED`` and a reason (a refusal before accepting would reach
  the page as a bare HTTP 403 without either), and no handler runs;
- every other connection gets a ``SocketGuard`` in its scope. ``websocket_principal`` registers
  it under the token it checked; ``SocketGuard.close`` sends the close frame itself, so that a
  handler blocked in any wait is freed the same way as when the client leaves (its receive
  gets the disconnect), and what the handler sends afterwards is dropped as if to a client
  that has gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from command.api.ws_origin import allowed

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: the scope key of a connection's guard
GUARD = "cad.socket_guard"
WS_ORIGIN_REFUSED = 4403
#: how long a close waits for a send in progress before it goes out anyway
_SEND_WAIT_S = 1.0


class SocketGone(OSError):
    """The guard closed the socket: the handler's send goes nowhere (Starlette reports it as
    a disconnect, as for a client that left)."""


class SocketGuard:
    """One websocket connection, closable by another task than its handler's."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._lock = asyncio.Lock()
        self.closed = False
        #: set by ``websocket_principal``: forgets the socket once the handler is done
        self.forget: Callable[[], None] | None = None

    async def send(self, message: Message) -> None:
        async with self._lock:
            if self.closed:
                if message["type"] == "websocket.close":
                    return
                raise SocketGone("the socket was closed by the service")
            if message["type"] == "websocket.close":
                self.closed = True
            await self._send(message)

    async def close(self, code: int, reason: str) -> None:
        """Close the socket with ``code`` and ``reason``; a no-op once closed."""
        if self.closed:
            return
        self.closed = True
        try:
            async with asyncio.timeout(_SEND_WAIT_S):
                await self._lock.acquire()
        except TimeoutError:
            log.info("a send is stuck; closing the socket regardless")
            locked = False
        else:
            locked = True
        try:
            await self._send({"type": "websocket.close", "code": code, "reason": reason[:120]})
        finally:
            if locked:
                self._lock.release()


class WebSocketGuard:
    """The middleware: origin check, then the handler with a ``SocketGuard`` in its scope."""

    def __init__(self, app: ASGIApp, allowed_origins: frozenset[str]) -> None:
        self.app = app
        self.allowed_origins = allowed_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        if not allowed(origin, headers.get("host"), self.allowed_origins):
            await self._refuse(origin or "", receive, send)
            return
        guard = SocketGuard(send)
        scope[GUARD] = guard
        try:
            await self.app(scope, receive, guard.send)
        finally:
            if guard.forget is not None:
                guard.forget()

    @staticmethod
    async def _refuse(origin: str, receive: Receive, send: Send) -> None:
        shown = "".join(c if " " <= c <= "~" else "?" for c in origin[:60])
        log.info("websocket from origin %s refused", shown)
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        reason = f"origin {shown} may not open this websocket"
        await send({"type": "websocket.close", "code": WS_ORIGIN_REFUSED, "reason": reason})
