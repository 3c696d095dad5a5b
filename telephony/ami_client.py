"""A small asyncio AMI client: login, actions matched to answers by ActionID, list actions.

Why not panoramisk's ``Manager``: it leaves list responses (``EventList: start`` … ``Complete``)
and reconnection to the caller, and its API is untyped. This client does one thing: it reads as
fast as the socket delivers, answers pending actions directly from the reader, and hands every
other message synchronously to ``on_event`` (which must not block: the bridge puts it on a
bounded queue). Reconnection policy lives in the bridge.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from telephony.ami_protocol import AmiMessage, Parser, encode
from telephony.errors import ActionFailed, SwitchUnavailable

log = logging.getLogger(__name__)
_connections = itertools.count(1)


@dataclass
class ListResult:
    """A list action's answer: the opening response and the items, in order."""

    response: AmiMessage
    items: list[AmiMessage] = field(default_factory=list)
    complete: AmiMessage | None = None
    seq: int = 0


@dataclass
class _Pending:
    future: asyncio.Future[ListResult]
    is_list: bool
    result: ListResult | None = None


class AmiClient(asyncio.Protocol):
    """One AMI session. ``await connect(...)`` then ``send``/``send_list``; ``close()``."""

    def __init__(self, on_event: Callable[[AmiMessage, int], None],
                 on_lost: Callable[[BaseException | None], None] | None = None) -> None:
        self._on_event = on_event
        self._on_lost = on_lost
        self._parser = Parser(expect_banner=True)
        self._transport: asyncio.Transport | None = None
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._prefix = f"cad{next(_connections)}-"
        self._banner: asyncio.Future[str] | None = None
        self.lost: asyncio.Future[None] | None = None
        self.received = 0  # sequence number of the last message read

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        messages = self._parser.feed(data)
        if self._banner is not None and not self._banner.done() and self._parser.banner:
            self._banner.set_result(self._parser.banner)
        for msg in messages:
            self.received += 1
            self._dispatch(msg)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        error = SwitchUnavailable(
            "the connection to Asterisk was closed", code="asterisk.connection_closed")
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._pending.clear()
        if self._banner is not None and not self._banner.done():
            self._banner.set_exception(error)
        if self.lost is not None and not self.lost.done():
            self.lost.set_result(None)
        if self._on_lost is not None:
            self._on_lost(exc)

    # -- dispatch

    def _dispatch(self, msg: AmiMessage) -> None:
        aid = msg.action_id
        pending = self._pending.get(aid) if aid else None
        if pending is None or (msg.event is not None and pending.result is None):
            # events carrying an ActionID of a finished action (OriginateResponse) are events
            self._on_event(msg, self.received)
            return
        if pending.result is None:
            result = ListResult(response=msg, seq=self.received)
            if not pending.is_list or msg.get("EventList").lower() != "start":
                del self._pending[aid]  # type: ignore[arg-type]
                if not pending.future.done():
                    pending.future.set_result(result)
                return
            pending.result = result
            return
        if msg.get("EventList").lower() == "complete":
            pending.result.complete = msg
            pending.result.seq = self.received
            del self._pending[aid]  # type: ignore[arg-type]
            if not pending.future.done():
                pending.future.set_result(pending.result)
            return
        pending.result.items.append(msg)

    # -- API

    @classmethod
    async def open(cls, host: str, port: int, username: str, secret: str,
                   on_event: Callable[[AmiMessage, int], None],
                   on_lost: Callable[[BaseException | None], None] | None = None,
                   wait: float = 5.0) -> AmiClient:
        """Connect, read the banner, log in. Raises SwitchUnavailable or ActionFailed."""
        loop = asyncio.get_running_loop()
        client = cls(on_event, on_lost)
        client._banner = loop.create_future()
        client.lost = loop.create_future()
        try:
            await asyncio.wait_for(loop.create_connection(lambda: client, host, port), wait)
            await asyncio.wait_for(client._banner, wait)
        except (OSError, TimeoutError) as exc:
            client.close()
            raise SwitchUnavailable(
                f"cannot reach Asterisk at {host}:{port}: {exc}", code="asterisk.unreachable",
                host=host, port=port, reason=str(exc)) from exc
        answer = await client.send("Login", wait=wait, Username=username, Secret=secret)
        if answer.get("Response") != "Success":
            client.close()
            raise ActionFailed(
                f"Asterisk refused the login: {answer.get('Message')}",
                code="asterisk.login_refused", reason=answer.get("Message"))
        return client

    @property
    def connected(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def _write(self, name: str, is_list: bool, fields: dict[str, str],
               extra: list[tuple[str, str]]) -> asyncio.Future[ListResult]:
        if not self.connected or self._transport is None:
            raise SwitchUnavailable("not connected to Asterisk", code="asterisk.not_connected")
        aid = f"{self._prefix}{next(self._ids)}"
        pairs = [("Action", name), ("ActionID", aid), *fields.items(), *extra]
        data = encode(pairs)  # raises ValueError on injected line breaks
        future: asyncio.Future[ListResult] = asyncio.get_running_loop().create_future()
        self._pending[aid] = _Pending(future, is_list)
        self._transport.write(data)
        return future

    async def _await(self, name: str, future: asyncio.Future[ListResult],
                     limit: float) -> ListResult:
        try:
            return await asyncio.wait_for(future, limit)
        except TimeoutError as exc:
            raise SwitchUnavailable(
                f"Asterisk did not answer {name} in {limit:g} s", code="asterisk.timeout",
                action=name, seconds=limit) from exc

    async def send(self, name: str, *extra: tuple[str, str], wait: float = 5.0,
                   **fields: str) -> AmiMessage:
        """Send one action and return its response (``Response: Success`` or ``Error``)."""
        result = await self._await(name, self._write(name, False, fields, list(extra)), wait)
        return result.response

    async def send_list(self, name: str, wait: float = 10.0, **fields: str) -> ListResult:
        """A list action: the response, then items until the ``EventList: Complete`` event."""
        result = await self._await(name, self._write(name, True, fields, []), wait)
        if result.response.get("Response") == "Error":
            raise ActionFailed(
                f"Asterisk refused {name}: {result.response.get('Message')}",
                code="asterisk.action_refused", action=name,
                reason=result.response.get("Message"))
        return result

    async def call(self, name: str, *extra: tuple[str, str], wait: float = 5.0,
                   **fields: str) -> AmiMessage:
        """Like ``send`` but raises ActionFailed when Asterisk answers with an error."""
        answer = await self.send(name, *extra, wait=wait, **fields)
        if answer.get("Response") != "Success":
            raise ActionFailed(
                f"Asterisk refused {name}: {answer.get('Message') or 'error'}",
                code="asterisk.action_refused", action=name,
                reason=answer.get("Message") or "error")
        return answer

    @property
    def skipped_lines(self) -> int:
        return self._parser.skipped_lines

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
