"""Reading a websocket stops at the high-water mark of messages waiting for the app, not at
every message (uvicorn's own protocol pauses for each one: two poller calls per message)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from command.ws_protocol import HIGH_WATER, FlowControlledWebSockets, _Reading


class _Transport:
    def __init__(self) -> None:
        self.paused = 0

    def pause_reading(self) -> None:
        self.paused += 1

    def get_extra_info(self, name: str) -> str:
        return f"info {name}"


class _Protocol:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.read_paused = False


def test_reading_pauses_only_at_the_high_water_mark() -> None:
    transport, protocol = _Transport(), _Protocol()
    reading = _Reading(cast(asyncio.Transport, transport),
                       cast(FlowControlledWebSockets, protocol))
    for i in range(HIGH_WATER - 1):
        protocol.queue.put_nowait({"n": i})
        protocol.read_paused = True  # as uvicorn marks itself before it asks
        reading.pause_reading()
        assert (transport.paused, protocol.read_paused) == (0, False)
    protocol.queue.put_nowait({"n": HIGH_WATER})
    protocol.read_paused = True
    reading.pause_reading()
    assert (transport.paused, protocol.read_paused) == (1, True)
    # Everything else is the transport's own.
    assert reading.get_extra_info("peername") == "info peername"
