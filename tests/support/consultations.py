"""Building consultations for tests: people signed in, a consultation with its invitations,
and what a participant must see of the others (their test patterns decoded)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from av import VideoFrame
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import builders
from tests.support.live import LiveApp
from video.media.pattern import identify
from video.peer import Frame, Peer, Received


@dataclass(frozen=True)
class Seat:
    name: str
    headers: dict[str, str]

    @property
    def token(self) -> str:
        return self.headers["Authorization"].removeprefix("Bearer ")


async def consultation(
    app: LiveApp, host: Seat, invited: Sequence[str], *, units: Sequence[str] = (),
    incident_id: int | None = None,
) -> int:
    """A consultation hosted by ``host`` with ``invited`` users and ``units`` invited."""
    body: dict[str, Any] = {"title": "Dam overflow"}
    if incident_id is not None:
        body["incident_id"] = incident_id
    r = await app.http.post("/api/v1/consultations", headers=host.headers, json=body)
    assert r.status_code == 201, r.text
    cid = int(r.json()["consultation"]["id"])
    if invited or units:
        r = await app.http.post(f"/api/v1/consultations/{cid}/invitations",
                                headers=host.headers,
                                json={"users": list(invited), "units": list(units)})
        assert r.status_code == 200, r.text
    return cid


async def seats(app: LiveApp, engine: AsyncEngine, count: int) -> list[Seat]:
    """A leader (``lead1``, the host) and ``count - 1`` dispatchers (``disp1``...)."""
    host = Seat("lead1", await builders.signed_in(app.http, engine, "lead1", "leader"))
    others = [
        Seat(name, await builders.signed_in(app.http, engine, name, "dispatcher"))
        for name in (f"disp{i}" for i in range(1, count))
    ]
    return [host, *others]


async def sees(
    peer: Peer, senders: dict[str, int], *, within: float = 30.0, frames: int = 5
) -> dict[str, Any]:
    """Wait until ``peer`` has decoded ``frames`` frames of every sender's pattern (member ->
    index), the last five in order; what it saw, by member. It reads the track that carries each
    sender now (``Peer.latest``): after a renegotiation that may be another one."""
    reading: dict[str, tuple[Received, asyncio.Task[None]]] = {}
    seen: dict[str, list[int]] = {}
    deadline = time.monotonic() + within

    async def read(got: Received) -> None:
        while True:
            frame = await got.track.recv()
            assert isinstance(frame, VideoFrame)
            found = identify(frame)
            assert got.member is not None
            # The pattern decoded is the one its member sends (index and colour agree).
            if found.index == senders.get(got.member) and found.colour_index == found.index % 8:
                seen.setdefault(got.member, []).append(found.counter)

    try:
        while not all(
            len(seen.get(m, [])) >= frames and _moving_on(seen.get(m, [])) for m in senders
        ):
            left = deadline - time.monotonic()
            assert left > 0, f"{peer.member} saw {seen} of {sorted(senders)}"
            for member in senders:
                got = peer.latest.get((member, "video"))
                current = reading.get(member)
                if got is not None and (current is None or current[0].track is not got.track):
                    if current is not None:
                        current[1].cancel()
                    reading[member] = (got, asyncio.create_task(read(got)))
            await asyncio.sleep(0.1)  # the condition above, polled
    finally:
        tasks = [task for _, task in reading.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return seen


def _moving_on(counters: list[int], frames: int = 5) -> bool:
    """The last ``frames`` counters rise: the sender's frames arrive in order. (A track the
    SFU gave to a new feed may first hand over one frame of the feed before.)"""
    last = counters[-frames:]
    return len(last) == frames and all(a < b for a, b in itertools.pairwise(last))


async def told(peer: Peer, kind: str, *, within: float = 10.0, **fields: object) -> Frame:
    """The next event frame of this ``kind`` (with these ``fields``) that ``peer`` is sent."""
    try:
        async with asyncio.timeout(within):
            while True:
                frame = await peer.events.get()
                if frame.get("type") == kind and all(
                    frame.get(k) == v for k, v in fields.items()
                ):
                    return frame
    except TimeoutError:
        raise AssertionError(f"{peer.member} was not sent {kind} {fields} in {within} s") from None


async def told_left(peer: Peer, member: str, *, within: float) -> float:
    """When ``peer`` was told that ``member`` left."""
    await told(peer, "participant", within=within, member=member, state="left")
    return time.monotonic()
