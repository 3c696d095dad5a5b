"""The vehicle agent: a mobile command vehicle or a fixed camera in a consultation, on aiortc.

It joins with the unit's device token, sends its source (a camera device, a video file, or the
test pattern with a tone) and stays in: when the link drops (a change of network, the server
restarting), it joins again by itself, at once and then backing off up to a few seconds,
without the host inviting it again. It stops for good when the server says it may not be in:
not invited, removed, no such consultation, the consultation ended, or the same unit connected
elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiortc import MediaStreamTrack
from websockets.exceptions import InvalidHandshake, InvalidURI

from video.peer import Peer, PeerClosed, PeerError

log = logging.getLogger(__name__)

#: close codes after which joining again cannot help (docs/protocols/video.md)
FINAL = {4401: "unauthorized", 4403: "refused", 4404: "not_found", 4409: "connected_elsewhere",
         4410: "ended"}


@dataclass(frozen=True)
class Backoff:
    """Waits between tries: ``first`` after a drop, doubling up to ``most``."""

    first_s: float = 0.25
    most_s: float = 5.0

    def delay(self, failures: int) -> float:
        """The wait before try ``failures + 1`` (0 after a connection that had served)."""
        if failures <= 0:
            return 0.0
        return float(min(self.most_s, self.first_s * 2 ** (failures - 1)))


@dataclass(frozen=True)
class Outcome:
    """Why the agent stopped: the server's close code and reason, and how many joins."""

    code: int | None
    reason: str
    joins: int


def final(code: int | None) -> bool:
    return code in FINAL


Tracks = Callable[[], Sequence[MediaStreamTrack]]


async def run(
    base_ws: str,
    token: str,
    consultation_id: int,
    tracks: Tracks,
    *,
    backoff: Backoff = Backoff(),
    on_joined: Callable[[Peer], Awaitable[None]] | None = None,
    stop: asyncio.Event | None = None,
    stats_every_s: float = 5.0,
) -> Outcome:
    """Be in the consultation until the server refuses (or ``stop`` is set); ``tracks`` makes
    fresh tracks for each join."""
    stop = stop or asyncio.Event()
    failures = 0
    joins = 0
    while not stop.is_set():
        await _wait(stop, backoff.delay(failures))
        if stop.is_set():
            break
        try:
            peer = await Peer.join(base_ws, token, consultation_id)
        except PeerClosed as refused:
            if final(refused.code):
                return Outcome(refused.code, refused.reason, joins)
            failures += 1
            log.info("not joined (%s %s): trying again", refused.code, refused.reason)
            continue
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            failures += 1
            log.info("the server is not reachable (%s): trying again", exc)
            continue
        joins += 1
        try:
            await peer.publish(tracks())
            log.info("joined consultation %s as %s (feed %s)", consultation_id, peer.member,
                     peer.feed)
            failures = 0
            if on_joined is not None:
                await on_joined(peer)
            reporting = asyncio.create_task(_report_link(peer, stats_every_s))
            try:
                closed = await _until_closed(peer, stop)
            finally:
                reporting.cancel()
        except Exception as exc:  # a failed publish: drop this try and join again
            log.warning("publishing failed (%s): joining again", exc)
            failures += 1
            await peer.close()
            continue
        await peer.close()
        if closed is None:
            break
        if final(closed.code):
            return Outcome(closed.code, closed.reason, joins)
        failures = 1
        log.info("the link dropped (%s %s): joining again", closed.code, closed.reason)
    return Outcome(None, "stopped", joins)


async def _report_link(peer: Peer, every_s: float) -> None:
    """The link's loss, round trip and bitrate for everyone's console, every ``every_s``."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await peer.report_link()
        except (PeerError, PeerClosed, TimeoutError) as exc:
            log.info("link statistics not reported: %s", exc)


async def _until_closed(peer: Peer, stop: asyncio.Event) -> PeerClosed | None:
    """The socket's close, or None when ``stop`` was set first."""
    stopping = asyncio.create_task(stop.wait())
    waited: list[asyncio.Future[Any]] = [peer.closed, stopping]
    try:
        done, _ = await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if peer.closed in done:
        return peer.closed.result()
    return None


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    if seconds > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
