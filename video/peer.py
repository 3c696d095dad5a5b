"""A consultation participant on aiortc: the client side of the signaling protocol.

What the vehicle agent, the recorder of stills, the tests and the benchmark clients join with.
It speaks ``docs/protocols/video.md`` over a websocket: one WebRTC connection for what it
sends (its offer, the SFU's answer) and one for what it receives (the SFU's offers, answered
here, again whenever the subscription changes). Each received track is known by the feed and
member it carries (the offer's ``streams``). aiortc gathers its candidates before it offers or
answers, so it sends none by trickle; the SFU's trickled candidates are added.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp
from aiortc.stats import RTCOutboundRtpStreamStats, RTCRemoteInboundRtpStreamStats
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

log = logging.getLogger(__name__)

Frame = dict[str, Any]


class PeerError(Exception):
    """The server answered a frame with ``error``: its code, field and parameters."""

    def __init__(self, answer: Frame) -> None:
        super().__init__(f"{answer.get('code')}: {answer.get('message')}")
        self.code = str(answer.get("code"))
        self.field = str(answer.get("field", ""))
        self.params: dict[str, Any] = dict(answer.get("params") or {})


class PeerClosed(Exception):
    """The signaling socket closed: its close code and reason."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"the signaling socket closed: {code} {reason}")
        self.code = code
        self.reason = reason


@dataclass
class Received:
    """A track received from another participant."""

    feed: int
    member: str | None
    kind: str
    track: MediaStreamTrack


@dataclass
class _State:
    pending: dict[str, asyncio.Future[Frame]] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)
    #: the mids of the latest subscription offer: what feed and member each carries
    streams: dict[str, Frame] = field(default_factory=dict)
    #: what each mid's track was last told to carry: (feed, track)
    announced: dict[str, tuple[int, MediaStreamTrack]] = field(default_factory=dict)


def _configuration(servers: Sequence[Frame]) -> RTCConfiguration:
    return RTCConfiguration([
        RTCIceServer(urls=list(s["urls"]), username=s.get("username"),
                     credential=s.get("credential"))
        for s in servers
    ])


class Peer:
    """One participant; ``join`` it, then ``publish`` and ``subscribe``."""

    def __init__(self, ws: ClientConnection, hello: Frame) -> None:
        self._ws = ws
        self.hello = hello
        self.member = str(hello["participant"])
        self._ids = itertools.count(1)
        self._state = _State()
        #: what the server tells about others (participant, muted, ended frames), in order
        self.events: asyncio.Queue[Frame] = asyncio.Queue()
        #: tracks received from the others, as they arrive
        self.received: asyncio.Queue[Received] = asyncio.Queue()
        #: the track that carries each member's audio and video now, by (member, kind)
        self.latest: dict[tuple[str | None, str], Received] = {}
        self.feed: int | None = None
        self._last_sent: tuple[int, float] | None = None
        config = _configuration(hello.get("ice_servers") or [])
        self._sender: RTCPeerConnection | None = None
        self._receiver = RTCPeerConnection(config)
        self._config = config
        self._receiver.on("track", self._on_track)
        self._negotiation: asyncio.Queue[Frame] = asyncio.Queue()
        self.closed: asyncio.Future[PeerClosed] = asyncio.get_running_loop().create_future()
        self._tasks = [
            asyncio.create_task(self._read(), name=f"peer {self.member} reader"),
            asyncio.create_task(self._negotiate(), name=f"peer {self.member} negotiation"),
        ]

    @classmethod
    async def join(cls, base_ws: str, token: str, consultation_id: int, *,
                   wait_s: float = 10.0) -> Peer:
        """Connect to the consultation's signaling socket; refusals are :class:`PeerClosed`."""
        url = f"{base_ws}/api/v1/consultations/{consultation_id}/ws?token={token}"
        ws = await connect(url, open_timeout=wait_s, max_size=2**20)
        try:
            async with asyncio.timeout(wait_s):
                hello = json.loads(await ws.recv())
        except ConnectionClosed as exc:
            raise PeerClosed(exc.rcvd.code if exc.rcvd else None,
                             exc.rcvd.reason if exc.rcvd else "") from exc
        if hello.get("type") != "hello":
            await ws.close()
            raise PeerClosed(None, f"the server's first frame was {hello.get('type')!r}, "
                                   "not hello")
        return cls(ws, hello)

    # -- requests ----------------------------------------------------------------------------

    async def request(self, kind: str, wait_s: float = 15.0, **fields: Any) -> Frame:
        """Send one frame and wait for its ``ack`` (``PeerError`` for its ``error``)."""
        ident = f"{kind}-{next(self._ids)}"
        return await self._exchange({"v": 1, "type": kind, "id": ident, **fields}, wait_s)

    async def _exchange(self, frame: Frame, wait_s: float) -> Frame:
        ident = str(frame["id"])
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._state.pending[ident] = future
        try:
            await self._ws.send(json.dumps(frame))
            async with asyncio.timeout(wait_s):
                answer = await future
        finally:
            self._state.pending.pop(ident, None)
        if answer["type"] == "error":
            raise PeerError(answer)
        return answer

    async def publish(self, tracks: Sequence[MediaStreamTrack]) -> int:
        """Send ``tracks`` (audio and/or video) through the SFU; the feed id others see."""
        if self._sender is None:
            self._sender = RTCPeerConnection(self._config)
        for track in tracks:
            self._sender.addTransceiver(track, direction="sendonly")
        await self._sender.setLocalDescription(await self._sender.createOffer())
        kinds = {t.kind for t in tracks}
        ident = f"publish-{next(self._ids)}"
        ack = await self._exchange({
            "v": 1, "type": "publish", "id": ident, "sdp": self._sender.localDescription.sdp,
            "audio": "audio" in kinds, "video": "video" in kinds,
        }, 15.0)
        answer = self._state.answers.pop(ident)
        await self._sender.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        self.feed = int(ack["feed"])
        return self.feed

    async def subscribe(self, feeds: Sequence[int] | str = "all", *,
                        layer: str | None = None) -> list[int]:
        """Receive these participants (or ``"all"``); ``layer``: the highest simulcast layer
        wanted (``low``, ``medium``, ``high``)."""
        fields: dict[str, Any] = {"feeds": feeds if isinstance(feeds, str) else list(feeds)}
        if layer is not None:
            fields["layer"] = layer
        ack = await self.request("subscribe", **fields)
        return list(ack.get("feeds") or [])

    async def stats(self, loss: float, rtt_ms: float, bitrate_kbps: float) -> None:
        await self.request("stats", loss=loss, rtt_ms=rtt_ms, bitrate_kbps=bitrate_kbps)

    async def report_link(self) -> bool:
        """Tell the server what the sending link does (loss, round trip, bitrate), from
        WebRTC's statistics since the last report; False while there is nothing to tell."""
        if self._sender is None:
            return False
        bytes_sent, loss, rtt = 0, 0.0, None
        for item in (await self._sender.getStats()).values():
            if isinstance(item, RTCOutboundRtpStreamStats) and item.kind == "video":
                bytes_sent += item.bytesSent
            # aiortc leaves the round trip None until a receiver report has timed one.
            elif (isinstance(item, RTCRemoteInboundRtpStreamStats) and item.kind == "video"
                  and item.roundTripTime is not None):
                loss, rtt = float(item.fractionLost or 0.0), float(item.roundTripTime)
        now = time.monotonic()
        last, self._last_sent = self._last_sent, (bytes_sent, now)
        if last is None or rtt is None or now <= last[1]:
            return False
        kbps = max(0.0, (bytes_sent - last[0]) * 8 / (now - last[1]) / 1000)
        await self.stats(min(1.0, max(0.0, loss)), rtt * 1000, kbps)
        return True

    async def leave(self) -> None:
        """Say goodbye: the server records it as left and closes the socket."""
        with contextlib.suppress(ConnectionClosed, PeerClosed):
            await self.request("leave")
        await self.close()

    async def close(self) -> None:
        """Go, without a goodbye (a dropped link looks the same to the server)."""
        await self._ws.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._sender is not None:
            await self._sender.close()
        await self._receiver.close()

    # -- what the server sends ---------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                frame = json.loads(raw)
                self._dispatch(frame)
        except ConnectionClosed:
            pass
        finally:
            rcvd = self._ws.close_code, self._ws.close_reason or ""
            closed = PeerClosed(*rcvd)
            if not self.closed.done():
                self.closed.set_result(closed)
            for future in self._state.pending.values():
                if not future.done():
                    future.set_exception(closed)

    def _dispatch(self, frame: Frame) -> None:
        kind = frame.get("type")
        ident = frame.get("id")
        if kind == "answer" and ident is not None:
            self._state.answers[str(ident)] = str(frame["sdp"])
        elif kind in ("ack", "error") and ident in self._state.pending:
            future = self._state.pending[str(ident)]
            if not future.done():
                future.set_result(frame)
        elif kind in ("offer", "candidate"):
            # In order: a candidate of the subscription after the offer it belongs to.
            self._negotiation.put_nowait(frame)
        else:
            self.events.put_nowait(frame)

    async def _add_candidate(self, frame: Frame) -> None:
        found = frame.get("candidate")
        pc = self._sender if frame.get("leg") == "publisher" else self._receiver
        if not found or pc is None:
            return
        candidate = candidate_from_sdp(str(found["candidate"]).removeprefix("candidate:"))
        candidate.sdpMid = found.get("sdpMid")
        candidate.sdpMLineIndex = found.get("sdpMLineIndex")
        await pc.addIceCandidate(candidate)

    async def _negotiate(self) -> None:
        """The SFU's offers (the first, then each renegotiation) answered, and its trickled
        candidates added, in the order they came."""
        while True:
            frame = await self._negotiation.get()
            if frame["type"] == "candidate":
                await self._add_candidate(frame)
                continue
            self._state.streams = {str(s["mid"]): s for s in frame.get("streams", [])}
            pc = self._receiver
            await pc.setRemoteDescription(RTCSessionDescription(str(frame["sdp"]), "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            # The SFU reuses an m-line that a feed left for the next one: no new track event
            # then, but a track that now carries someone else.
            for transceiver in pc.getTransceivers():
                self._announce(transceiver.mid, transceiver.receiver.track)
            try:
                await self.request("answer", sdp=pc.localDescription.sdp)
            except PeerError as exc:
                log.warning("%s: the server refused our answer: %s", self.member, exc)

    def _on_track(self, track: MediaStreamTrack) -> None:
        mid = next((t.mid for t in self._receiver.getTransceivers() if t.receiver.track is track),
                   None)
        self._announce(mid, track)

    def _announce(self, mid: str | None, track: MediaStreamTrack | None) -> None:
        """Tell of ``track`` once per feed it carries (on ``received``)."""
        stream = self._state.streams.get(str(mid))
        if stream is None or track is None or stream.get("feed") is None:
            return
        feed = int(stream["feed"])
        if self._state.announced.get(str(mid)) == (feed, track):
            return
        self._state.announced[str(mid)] = (feed, track)
        got = Received(feed=feed, member=stream.get("member"), kind=track.kind, track=track)
        self.latest[(got.member, got.kind)] = got
        self.received.put_nowait(got)
