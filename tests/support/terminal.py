"""A unit terminal over a real websocket, for tests: answers and pushes kept apart, every frame
the server sends checked against its schema."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.protocol import check_server_frame

Frame = dict[str, Any]
_keys = itertools.count(1)


def key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_keys)}"


def position(lon: float, lat: float, at: datetime, seq: int | None = None, **extra: Any) -> Frame:
    out: Frame = {"lat": lat, "lon": lon, "time": at.isoformat(), **extra}
    if seq is not None:
        out["seq"] = seq
    return out


@dataclass
class Terminal:
    ws: ClientConnection
    hello: Frame
    current: Frame
    pushed: list[Frame] = field(default_factory=list)

    async def _next(self) -> Frame:
        frame: Frame = json.loads(await self.ws.recv())
        return check_server_frame(frame)

    async def send(self, frame: Frame | str) -> Frame:
        """Send one frame; its answer (``ack`` or ``error``). Pushes meanwhile are kept."""
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))
        return await self.answer()

    async def answer(self) -> Frame:
        while True:
            frame = await self._next()
            if frame["type"] in ("ack", "error"):
                return frame
            self.pushed.append(frame)

    async def push(self, kind: str, within_s: float = 10.0) -> Frame:
        """The next pushed frame of ``kind`` (kept ones first)."""
        for i, frame in enumerate(self.pushed):
            if frame["type"] == kind:
                return self.pushed.pop(i)
        async with asyncio.timeout(within_s):
            while True:
                frame = await self._next()
                if frame["type"] == kind:
                    return frame
                self.pushed.append(frame)


def frame(kind: str, **body: Any) -> Frame:
    return {"v": 1, "type": kind, "key": body.pop("key", None) or key(kind), **body}


@asynccontextmanager
async def connected(ws_url: str, token: str) -> AsyncIterator[Terminal]:
    async with websockets.connect(f"{ws_url}/api/v1/units/ws?token={token}") as ws:
        hello = check_server_frame(json.loads(await ws.recv()))
        current = check_server_frame(json.loads(await ws.recv()))
        assert hello["type"] == "hello"
        assert current["type"] == "assignment"
        yield Terminal(ws, hello, current)
