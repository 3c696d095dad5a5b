"""An async client of the Janus API over its websocket transport (subprotocol ``janus-protocol``).

One :class:`JanusConnection` per websocket; on it, sessions (kept alive by a task of their own)
and plugin handles. Every request carries a transaction and the API secret and waits for its
answer within a time limit; an answer is the reply of the same transaction (for a plugin's
asynchronous requests, the event that follows Janus's ``ack``). Everything else Janus sends
(``webrtcup``, ``media``, ``slowlink``, ``hangup``, trickled candidates, plugin events with no
transaction) is put on the queue of the handle it names; a session that times out or a lost
connection puts a ``gone`` event on each of its handles.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.typing import Subprotocol

from video.janus.errors import (
    JanusApiError,
    JanusTimeout,
    JanusUnavailable,
    SessionGone,
    VideoRoomError,
)

log = logging.getLogger(__name__)

Json = dict[str, Any]
SUBPROTOCOL = Subprotocol("janus-protocol")
# Janus's own code for "no such session" and "no such handle": the other side is gone
GONE_CODES = frozenset({458, 459})


@dataclass(frozen=True)
class Jsep:
    """An SDP with its type (``offer`` or ``answer``), as Janus carries it."""

    type: str
    sdp: str

    def as_json(self) -> Json:
        return {"type": self.type, "sdp": self.sdp}

    @staticmethod
    def of(message: Json) -> Jsep | None:
        jsep = message.get("jsep")
        if not isinstance(jsep, dict):
            return None
        return Jsep(type=str(jsep.get("type", "")), sdp=str(jsep.get("sdp", "")))


@dataclass(frozen=True)
class JanusEvent:
    """One message Janus sent about a handle.

    ``kind`` is Janus's ``janus`` field (``event``, ``webrtcup``, ``media``, ``slowlink``,
    ``hangup``, ``trickle``, ``detached``) or ``gone`` (session timed out or connection lost);
    ``data`` is the plugin's data for plugin events, else the message itself.
    """

    kind: str
    data: Json
    jsep: Jsep | None = None

    @staticmethod
    def of(message: Json) -> JanusEvent:
        kind = str(message.get("janus"))
        plugindata = message.get("plugindata")
        if kind in ("event", "success") and isinstance(plugindata, dict):
            return JanusEvent(kind, dict(plugindata.get("data") or {}), Jsep.of(message))
        return JanusEvent(kind, message, Jsep.of(message))


@dataclass
class _Pending:
    future: asyncio.Future[Json]
    final_on_ack: bool


class JanusConnection:
    """One websocket to Janus; ``open`` it, then ``create_session``."""

    def __init__(self, ws: ClientConnection, api_secret: str, request_timeout: float) -> None:
        self._ws = ws
        self._secret = api_secret
        self.request_timeout = request_timeout
        self._pending: dict[str, _Pending] = {}
        self._sessions: dict[int, JanusSession] = {}
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(4)
        self._reader = asyncio.create_task(self._read(), name="janus-reader")
        self.closed = asyncio.Event()

    @classmethod
    async def open(
        cls, url: str, api_secret: str, *, request_timeout: float = 10.0,
        open_timeout: float = 10.0,
    ) -> JanusConnection:
        try:
            ws = await connect(url, subprotocols=[SUBPROTOCOL], open_timeout=open_timeout,
                               max_size=2**22, ping_interval=None)
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            log.warning("janus at %s is not reachable: %s", url, exc)
            raise JanusUnavailable("janus is not reachable", reason="unreachable") from exc
        return cls(ws, api_secret, request_timeout)

    async def close(self) -> None:
        """Close the websocket: Janus then ends every session made on it."""
        for session in list(self._sessions.values()):
            session.stop_keepalive()
        await self._ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def call(
        self, body: Json, *, final_on_ack: bool = True, limit_s: float | None = None,
    ) -> Json:
        """Send one request and return Janus's answer; typed errors for its refusals."""
        if self.closed.is_set():
            raise JanusUnavailable("the connection to janus is closed", reason="closed")
        transaction = f"{self._prefix}-{next(self._ids)}"
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = _Pending(future, final_on_ack)
        request = str(body.get("janus"))
        if request == "message":
            request = f"message {body.get('body', {}).get('request')}"
        limit = self.request_timeout if limit_s is None else limit_s
        try:
            await self._ws.send(json.dumps({**body, "transaction": transaction,
                                            "apisecret": self._secret}))
            async with asyncio.timeout(limit):
                answer = await future
        except TimeoutError as exc:
            raise JanusTimeout(request, limit) from exc
        except ConnectionClosed as exc:
            raise JanusUnavailable("the connection to janus was lost", reason="lost") from exc
        finally:
            self._pending.pop(transaction, None)
        if answer.get("janus") == "error":
            error = answer.get("error") or {}
            code, reason = int(error.get("code", 0)), str(error.get("reason", ""))
            if code in GONE_CODES:
                raise SessionGone(f"the janus session is gone: {reason}", reason=reason)
            raise JanusApiError(code, reason, request)
        data = (answer.get("plugindata") or {}).get("data") or {}
        if "error_code" in data:
            raise VideoRoomError(int(data["error_code"]), str(data.get("error", "")), request)
        return answer

    async def info(self) -> Json:
        return await self.call({"janus": "info"})

    async def create_session(self, *, keepalive_s: float = 5.0) -> JanusSession:
        answer = await self.call({"janus": "create"})
        session = JanusSession(self, int(answer["data"]["id"]), keepalive_s)
        self._sessions[session.id] = session
        return session

    def _forget(self, session: JanusSession) -> None:
        self._sessions.pop(session.id, None)

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    log.warning("janus sent a message that is not JSON")
                    continue
                if isinstance(message, dict):
                    self._dispatch(message)
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            for pending in self._pending.values():
                if not pending.future.done():
                    pending.future.set_exception(
                        JanusUnavailable("the connection to janus was lost", reason="lost"))
            for session in list(self._sessions.values()):
                session._gone("connection lost")

    def _dispatch(self, message: Json) -> None:
        kind = message.get("janus")
        pending = self._pending.get(str(message.get("transaction")))
        if pending is not None and not pending.future.done():
            if kind == "ack" and not pending.final_on_ack:
                return  # the answer is the event that follows
            pending.future.set_result(message)
            return
        session = self._sessions.get(int(message.get("session_id") or 0))
        if session is None:
            if kind not in ("ack", "server_info"):
                log.debug("janus message for no session of ours: %s", kind)
            return
        if kind == "timeout":
            session._gone("session timed out")
            return
        session._route(message)


class JanusSession:
    """A Janus session: its handles, and the keepalive that keeps it from timing out."""

    def __init__(self, connection: JanusConnection, session_id: int, keepalive_s: float) -> None:
        self.connection = connection
        self.id = session_id
        self._handles: dict[int, JanusHandle] = {}
        self.gone_reason: str | None = None
        self._keepalive = asyncio.create_task(self._keep_alive(keepalive_s),
                                              name=f"janus-keepalive-{session_id}")

    async def attach(self, plugin: str) -> JanusHandle:
        answer = await self.call({"janus": "attach", "plugin": plugin})
        handle = JanusHandle(self, int(answer["data"]["id"]))
        self._handles[handle.id] = handle
        return handle

    async def call(self, body: Json, **options: Any) -> Json:
        if self.gone_reason is not None:
            raise SessionGone(f"the janus session is gone: {self.gone_reason}",
                              reason=self.gone_reason)
        return await self.connection.call({**body, "session_id": self.id}, **options)

    def stop_keepalive(self) -> None:
        """No more keepalives: Janus ends the session after its ``session_timeout``."""
        self._keepalive.cancel()

    async def destroy(self) -> None:
        self.stop_keepalive()
        if self.gone_reason is None:
            with contextlib.suppress(SessionGone, JanusUnavailable, JanusTimeout):
                await self.call({"janus": "destroy"})
        self._gone("destroyed")

    async def _keep_alive(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.call({"janus": "keepalive"})
            except (SessionGone, JanusUnavailable):
                return
            except JanusTimeout:
                log.warning("janus did not answer a keepalive of session %s", self.id)

    def _forget(self, handle: JanusHandle) -> None:
        self._handles.pop(handle.id, None)

    def _route(self, message: Json) -> None:
        handle = self._handles.get(int(message.get("sender") or 0))
        if handle is None:
            return
        handle.events.put_nowait(JanusEvent.of(message))
        if message.get("janus") == "detached":
            self._forget(handle)

    def _gone(self, reason: str) -> None:
        if self.gone_reason is not None:
            return
        self.gone_reason = reason
        self._keepalive.cancel()
        for handle in self._handles.values():
            handle.events.put_nowait(JanusEvent("gone", {"reason": reason}))
        self._handles.clear()
        self.connection._forget(self)


@dataclass
class JanusHandle:
    """A plugin handle: its requests, its trickle, and the queue of what Janus sends about it."""

    session: JanusSession
    id: int
    events: asyncio.Queue[JanusEvent] = field(default_factory=asyncio.Queue)

    async def message(
        self, body: Json, jsep: Jsep | None = None, *, limit_s: float | None = None,
    ) -> JanusEvent:
        """A plugin request; its answer (``success`` for synchronous ones, else the event)."""
        request: Json = {"janus": "message", "handle_id": self.id, "body": body}
        if jsep is not None:
            request["jsep"] = jsep.as_json()
        answer = await self.session.call(request, final_on_ack=False, limit_s=limit_s)
        return JanusEvent.of(answer)

    async def trickle(self, candidate: Json | None) -> None:
        """One ICE candidate (``candidate``, ``sdpMid``, ``sdpMLineIndex``) or None: done."""
        body = {"completed": True} if candidate is None else candidate
        await self.session.call({"janus": "trickle", "handle_id": self.id, "candidate": body})

    async def hangup(self) -> None:
        await self.session.call({"janus": "hangup", "handle_id": self.id})

    async def detach(self) -> None:
        with contextlib.suppress(SessionGone, JanusUnavailable):
            await self.session.call({"janus": "detach", "handle_id": self.id})
        self.session._forget(self)
