"""One console's tracking session: read its messages, write its frames.

Each console has its own reader and its own writer task; the writer is the only one that sends.
It waits on the console's feed, sends replies first (errors, the snapshot that answers a
subscribe), then whatever positions are pending, as soon as the last frame is sent (or when
the console's period is over, if batches are paced). A console whose socket
does not drain blocks only its own writer: meanwhile its feed keeps one pending position per
unit, and it gets the latest of each when the socket drains.

The transport is given as two functions, so that this module knows no web framework: ``send``
one text frame, ``receive`` the next frame (text, bytes) or None once the console has gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from command.errors import InvalidInput
from command.tracking.fanout import ConsoleFeed, Fanout
from command.tracking.messages import (
    CONSOLE_MESSAGE,
    ErrorFrame,
    Subscribe,
    Unsubscribe,
    batch_frame,
)

log = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[None]]
Receive = Callable[[], Awaitable[str | bytes | None]]

#: error frames waiting for a console that sends bad frames and does not read; older ones go
MAX_WAITING_ERRORS = 32


class FrameInvalid(InvalidInput):
    """A console frame that is not a message of the protocol; ``field`` names what is wrong."""

    code = "tracking.frame_invalid"

    def __init__(self, message: str, *, code: str, field: str, **params: object) -> None:
        super().__init__(message, code=code, field=field, **params)
        self.field = field


def parse(frame: str | bytes) -> Subscribe | Unsubscribe:
    """The message in ``frame``, or :class:`FrameInvalid` naming the field."""
    if isinstance(frame, bytes):
        raise FrameInvalid(
            "send messages as JSON text frames, not binary", code="tracking.frame_binary",
            field="frame",
        )
    try:
        data = json.loads(frame)
    except ValueError as exc:
        raise FrameInvalid(
            f"the frame is not JSON: {exc}", code="tracking.frame_not_json", field="frame",
            reason=str(exc),
        ) from exc
    try:
        return CONSOLE_MESSAGE.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        if loc and isinstance(data, dict) and loc[0] == data.get("type"):
            loc = loc[1:]  # the message's own name, put first by the tagged union
        where = ".".join(str(p) for p in loc) or "type"
        if first["type"] in ("union_tag_not_found", "union_tag_invalid"):
            where = "type"
        raise FrameInvalid(
            f"{where}: {first['msg']}", code="tracking.message_invalid", field=where,
            problem=str(first["type"]),
        ) from exc


class ConsoleSession:
    """The tracking stream of one connected console."""

    def __init__(self, fanout: Fanout, send: Send, receive: Receive) -> None:
        self.fanout = fanout
        self.send = send
        self.receive = receive
        self.feed: ConsoleFeed = fanout.attach()
        self._errors: deque[str] = deque(maxlen=MAX_WAITING_ERRORS)
        self._snapshot: str | None = None

    async def run(self) -> None:
        """Serve the console until it leaves (or its socket fails)."""
        tasks = [
            asyncio.create_task(self._read(), name="tracking console: read"),
            asyncio.create_task(self._write(), name="tracking console: write"),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.fanout.detach(self.feed)
            self._snapshot = None
            self._errors.clear()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _read(self) -> None:
        while (frame := await self.receive()) is not None:
            self.handle(frame)

    def handle(self, frame: str | bytes) -> None:
        try:
            message = parse(frame)
        except FrameInvalid as exc:
            error = ErrorFrame(
                code=exc.code, message=exc.message, field=exc.field, params=exc.params
            )
            self._errors.append(error.model_dump_json())
        else:
            if isinstance(message, Subscribe):
                snapshot = self.fanout.subscribe(self.feed, message.interest())
                self._snapshot = batch_frame("snapshot", snapshot)
            else:
                self.fanout.unsubscribe(self.feed)
                self._snapshot = None
        self.feed.poke()

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        feed = self.feed
        while True:
            await feed.wake.wait()
            feed.wake.clear()
            await self._replies()
            if not feed.pending:
                continue
            delay = feed.due_in(loop.time())
            if delay > 0:
                await asyncio.sleep(delay)  # pacing: what arrives meanwhile is coalesced
                await self._replies()
            batch = feed.take_due(loop.time())
            if batch:
                await self.send(batch_frame("positions", batch))
            elif feed.pending:
                feed.poke()  # woke a moment early: go round again

    async def _replies(self) -> None:
        while self._errors:
            await self.send(self._errors.popleft())
        snapshot, self._snapshot = self._snapshot, None
        if snapshot is not None:
            await self.send(snapshot)
