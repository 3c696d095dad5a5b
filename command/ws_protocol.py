"""The websocket protocol ``cad serve`` runs under uvicorn: uvicorn's own (``websockets``
sans-I/O), with flow control by a high-water mark instead of per message, and without
per-message compression.

uvicorn stops reading a socket as soon as one message waits for the app, and reads again once
the app took it: on the default event loop each of those is a system call to the poller (two
per message: 15% of the server's CPU when a thousand unit terminals each send a position and
wait for its ack). Here reading stops only when ``HIGH_WATER`` messages wait for the app, so a
socket still holds at most that many unread messages (plus what the kernel buffers), and a
terminal that sends faster than the app takes is still held back.

Frames are not compressed (``permessage-deflate`` is declined): the frames here are small JSON
(a position and its ack are 150-250 bytes), which deflate shrinks little, and compressing and
inflating them for every terminal and every console took a fifth of the server's CPU at 7,000
positions a second (a terminal reporting every 5 s sends about 3.5 MB a day either way).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

#: messages waiting for the app before the socket is no longer read
HIGH_WATER = 32


def uvicorn_options() -> dict[str, Any]:
    """The websocket settings of every uvicorn server of the app (``cad serve``, the tests)."""
    return {"ws": FlowControlledWebSockets, "ws_per_message_deflate": False}


class _Reading:
    """The connection's transport, whose reading stops only at the high-water mark."""

    def __init__(self, transport: asyncio.Transport, protocol: FlowControlledWebSockets) -> None:
        self._transport = transport
        self._protocol = protocol

    def pause_reading(self) -> None:
        # uvicorn marks itself paused before it calls this, for every message it queues; below
        # the mark it is not, and the next message asks again.
        if self._protocol.queue.qsize() >= HIGH_WATER:
            self._transport.pause_reading()
        else:
            self._protocol.read_paused = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class FlowControlledWebSockets(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol, reading paused only at ``HIGH_WATER`` queued messages."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        super().connection_made(_Reading(transport, self))  # type: ignore[arg-type]
