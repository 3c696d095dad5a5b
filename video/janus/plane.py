"""The media plane (``video.media_plane``) on Janus VideoRoom.

One websocket to Janus for the whole plane. An administrative session holds, per room, a
*monitor*: a participant that joins as a publisher and never publishes, so that it hears what
Janus tells the room (feeds published and gone, talking) and fans it out to the room's
listeners. Every leg has a Janus session of its own, kept alive by the client: when the leg's
owner vanishes and the signaling closes the leg, or when the plane itself dies, Janus ends it.
SDPs and candidates are checked (``video.sdp``) before Janus sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from video import recording_names
from video import sdp as sdp_checks
from video.errors import InvalidInput, MediaPlaneError, NotFound
from video.janus import videoroom as vr
from video.janus.client import JanusConnection, JanusEvent, JanusHandle, JanusSession, Jsep
from video.janus.errors import JanusApiError, JanusError, VideoRoomError
from video.media_plane import (
    Candidate,
    Feed,
    FeedPublished,
    FeedStream,
    FeedUnpublished,
    Hangup,
    Kicked,
    LocalCandidate,
    MediaEvent,
    MediaKind,
    MediaReceiving,
    Participant,
    Renegotiate,
    Room,
    RoomClosed,
    RoomSpec,
    SlowLink,
    SubscribedMedia,
    Talking,
    WebrtcUp,
)

log = logging.getLogger(__name__)

MONITOR_DISPLAY = "cad:monitor"
# Janus core codes for an SDP it could not use (janus.h: JSEP_UNKNOWN_TYPE, JSEP_INVALID_SDP)
JANUS_SDP_CODES = frozenset({464, 465})


def _feed(publisher: vr.Publisher) -> Feed:
    return Feed(publisher.id, publisher.display,
                tuple(FeedStream(s.mid, s.type, s.codec) for s in publisher.streams))


def _checked_sdp(text: str, kind: str) -> Jsep:
    problem = sdp_checks.check_sdp(text, kind)
    if problem is not None:
        raise InvalidInput(f"refused SDP: {problem.reason} (line {problem.line})",
                           code="video.sdp_invalid", field="sdp", reason=problem.reason,
                           line=problem.line)
    return Jsep(kind, text)


def _sfu_sdp_error(exc: JanusError) -> InvalidInput | JanusError:
    """Janus's own refusal of an SDP, under the same code as ours."""
    if (isinstance(exc, VideoRoomError) and exc.janus_code == VideoRoomError.INVALID_SDP) or (
        isinstance(exc, JanusApiError) and exc.janus_code in JANUS_SDP_CODES
    ):
        log.info("the SFU refused an SDP: %s", exc)
        return InvalidInput("refused SDP: sdp.refused_by_sfu (line 0)", code="video.sdp_invalid",
                            field="sdp", reason="sdp.refused_by_sfu", line=0)
    return exc


def _candidate_json(candidate: Candidate) -> dict[str, Any]:
    problem = sdp_checks.check_candidate(candidate.candidate)
    if problem is not None:
        raise InvalidInput(f"refused candidate: {problem.reason}", code="video.candidate_invalid",
                           reason=problem.reason, text=problem.text)
    body: dict[str, Any] = {"candidate": candidate.candidate.removeprefix("a=")}
    if candidate.sdp_mid is not None:
        body["sdpMid"] = candidate.sdp_mid
    if candidate.sdp_mline_index is not None:
        body["sdpMLineIndex"] = candidate.sdp_mline_index
    return body


class _Stream:
    """One consumer's queue of events, ended by ``finish``."""

    _END = object()

    def __init__(self) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._ended = False

    def put(self, event: MediaEvent) -> None:
        if not self._ended:
            self._queue.put_nowait(event)

    def finish(self) -> None:
        if not self._ended:
            self._ended = True
            self._queue.put_nowait(self._END)

    def __aiter__(self) -> _Stream:
        return self

    async def __anext__(self) -> MediaEvent:
        item = await self._queue.get()
        if item is self._END:
            self._queue.put_nowait(item)  # later readers end too
            raise StopAsyncIteration
        return item  # type: ignore[return-value]


def _leg_event(leg: str, event: JanusEvent) -> MediaEvent | None:
    """What Janus's core says about a leg's connection, as the plane's event."""
    data = event.data
    match event.kind:
        case "webrtcup":
            return WebrtcUp(leg)
        case "hangup":
            return Hangup(leg, str(data.get("reason", "")))
        case "gone":
            return Hangup(leg, f"session ended: {data.get('reason', '')}")
        case "slowlink":
            lost = data.get("lost")
            return SlowLink(leg, bool(data.get("uplink")), data.get("media") or data.get("type"),
                            None if lost is None else int(lost))
        case "media":
            return MediaReceiving(leg, str(data.get("type")), data.get("mid"),
                                  bool(data.get("receiving")))
        case "trickle":
            found = data.get("candidate") or {}
            if found.get("completed"):
                return LocalCandidate(leg, None)
            return LocalCandidate(leg, Candidate(str(found.get("candidate")), found.get("sdpMid"),
                                                 found.get("sdpMLineIndex")))
    return None


class _Leg:
    """What both kinds of leg share: a session, a handle, the pump of its events."""

    def __init__(self, session: JanusSession, handle: JanusHandle, leg_id: str) -> None:
        self._session = session
        self._handle = handle
        self._id = leg_id
        self._stream = _Stream()
        self._closed = False
        self._pump = asyncio.create_task(self._run(), name=f"media-leg-{leg_id}")

    @property
    def id(self) -> str:
        return self._id

    @property
    def session(self) -> JanusSession:
        """The leg's Janus session (a test stops its keepalive to play a vanished owner)."""
        return self._session

    def events(self) -> AsyncIterator[MediaEvent]:
        return self._stream

    async def trickle(self, candidate: Candidate | None) -> None:
        await self._handle.trickle(None if candidate is None else _candidate_json(candidate))

    async def _run(self) -> None:
        while True:
            event = await self._handle.events.get()
            translated = _leg_event(self._id, event) or self._plugin_event(event)
            if translated is not None:
                self._stream.put(translated)
            if event.kind in ("gone", "detached"):
                self._stream.finish()
                return

    def _plugin_event(self, event: JanusEvent) -> MediaEvent | None:
        if event.kind == "event" and event.data.get("reason") == "kicked":
            return Kicked(self._id)
        return None

    async def _end(self) -> None:
        self._closed = True
        await self._handle.detach()
        await self._session.destroy()
        self._stream.finish()
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump


class JanusPublisherLeg(_Leg):
    def __init__(self, session: JanusSession, handle: JanusHandle, joined: vr.Joined,
                 display: str, *, recorded: bool) -> None:
        super().__init__(session, handle, f"pub-{joined.id}")
        self._joined = joined
        self._display = display
        self._recorded = recorded
        self._mids: list[tuple[str, str]] = []

    @property
    def feed_id(self) -> int:
        return self._joined.id

    @property
    def private_id(self) -> int:
        return self._joined.private_id

    @property
    def present(self) -> tuple[Feed, ...]:
        return tuple(_feed(p) for p in self._joined.publishers)

    async def publish(self, offer_sdp: str, *, bitrate: int | None = None) -> str:
        offer = _checked_sdp(offer_sdp, "offer")
        try:
            # Named for whose they are, should the room be recorded while this one sends.
            filename = (recording_names.base_of(self._display, int(time.time() * 1000))
                        if self._recorded else None)
            answer = await vr.publish(self._handle, offer, bitrate=bitrate, filename=filename)
        except JanusError as exc:
            raise _sfu_sdp_error(exc) from exc
        self._mids = sdp_checks.media_mids(offer_sdp)
        return answer.sdp

    async def configure(self, *, audio: bool | None = None, video: bool | None = None,
                        bitrate: int | None = None) -> None:
        wanted = {"audio": audio, "video": video}
        send = {mid: on for kind, mid in self._mids
                if (on := wanted.get(kind)) is not None}
        await vr.configure(self._handle, bitrate=bitrate, send=send or None)

    async def close(self) -> None:
        if self._closed:
            return
        if self._session.gone_reason is None:
            with contextlib.suppress(JanusError):
                await vr.leave(self._handle)
        await self._end()


class JanusSubscriberLeg(_Leg):
    def __init__(self, session: JanusSession, handle: JanusHandle,
                 subscription: vr.Subscription) -> None:
        super().__init__(session, handle, f"sub-{handle.id}")
        self._offer = subscription.offer.sdp if subscription.offer else ""
        self._streams = subscription.streams
        # Feeds asked for (or dropped) in an update Janus queued behind a renegotiation under
        # way: counted as subscribed (or not) until its ``updated`` event says what it did, so
        # that a second update does not ask for the same feed twice (Janus would send it twice).
        self._queued_add: set[int] = set()
        self._queued_remove: set[int] = set()

    @property
    def offer(self) -> str:
        return self._offer

    @property
    def feeds(self) -> tuple[int, ...]:
        carried = {s.feed_id for s in self._streams if s.active and s.feed_id is not None}
        return tuple(sorted((carried | self._queued_add) - self._queued_remove))

    @property
    def streams(self) -> tuple[SubscribedMedia, ...]:
        return tuple(SubscribedMedia(s.mid, s.feed_id, s.type) for s in self._streams
                     if s.active and s.feed_id is not None)

    async def start(self, answer_sdp: str) -> None:
        answer = _checked_sdp(answer_sdp, "answer")
        try:
            await vr.start(self._handle, answer)
        except JanusError as exc:
            raise _sfu_sdp_error(exc) from exc

    async def update(self, *, add: Sequence[int] = (), remove: Sequence[int] = ()) -> str | None:
        subscription = await vr.update(self._handle, add=list(add), remove=list(remove))
        if subscription.streams:
            self._carries(subscription.streams)
        elif subscription.offer is None:  # queued: comes as an ``updated`` event
            self._queued_add = (self._queued_add | set(add)) - set(remove)
            self._queued_remove = (self._queued_remove | set(remove)) - set(add)
        if subscription.offer is None:
            return None
        self._offer = subscription.offer.sdp
        return self._offer

    async def prefer(self, layer: int) -> None:
        streams = {s.mid: layer for s in self._streams
                   if s.active and s.feed_id is not None and s.type == "video"}
        if streams:
            await vr.configure_subscriber(self._handle, streams)

    def _plugin_event(self, event: JanusEvent) -> MediaEvent | None:
        # Janus renegotiates by itself when a feed of the subscription goes away
        if event.kind == "event" and event.data.get("videoroom") == "updated" and event.jsep:
            streams = event.data.get("streams")
            if streams is not None:
                self._carries(tuple(vr.SubscribedStream.of(s) for s in streams))
            self._offer = event.jsep.sdp
            return Renegotiate(self._id, self._offer, self.feeds)
        return super()._plugin_event(event)

    def _carries(self, streams: tuple[vr.SubscribedStream, ...]) -> None:
        """What Janus says the subscription now carries: the queued changes are done."""
        self._streams = streams
        self._queued_add.clear()
        self._queued_remove.clear()

    async def close(self) -> None:
        if not self._closed:
            await self._end()


class _RoomState:
    def __init__(self, room: Room, monitor: JanusHandle, monitor_id: int) -> None:
        self.room = room
        self.monitor = monitor
        self.monitor_id = monitor_id
        self.listeners: set[_Stream] = set()
        self.published: set[int] = set()
        self.pump: asyncio.Task[None] | None = None

    def emit(self, event: MediaEvent) -> None:
        for listener in self.listeners:
            listener.put(event)

    def finish(self) -> None:
        for listener in self.listeners:
            listener.finish()

    async def run(self) -> None:
        room = self.room.id
        while True:
            event = await self.monitor.events.get()
            data = event.data
            if event.kind == "gone" or data.get("videoroom") == "destroyed":
                self.emit(RoomClosed(room))
                self.finish()
                return
            kind = data.get("videoroom")
            if kind in ("talking", "stopped-talking"):
                level = data.get("audio-level-dBov-avg")
                self.emit(Talking(room, int(data["id"]), kind == "talking",
                                  None if level is None else float(level)))
            for item in data.get("publishers", []) if kind == "event" else []:
                publisher = vr.Publisher.of(item)
                if publisher.id != self.monitor_id:
                    self.published.add(publisher.id)
                    self.emit(FeedPublished(room, _feed(publisher)))
            for key in ("unpublished", "leaving", "kicked"):
                gone = data.get(key)
                if isinstance(gone, int) and gone in self.published:
                    self.published.discard(gone)
                    self.emit(FeedUnpublished(room, gone))


class JanusMediaPlane:
    """``MediaPlane`` on one Janus, reached at ``url`` with its API secret."""

    def __init__(self, connection: JanusConnection, admin: JanusSession, handle: JanusHandle,
                 *, keepalive_s: float, recordings_dir: str | None) -> None:
        self._connection = connection
        self._admin = admin
        self._handle = handle
        self._keepalive_s = keepalive_s
        self._recordings = recordings_dir
        self._rooms: dict[int, _RoomState] = {}

    @classmethod
    async def connect(
        cls, url: str, api_secret: str, *, keepalive_s: float = 5.0,
        request_timeout: float = 10.0, recordings_dir: str | None = None,
    ) -> JanusMediaPlane:
        """``recordings_dir``: where Janus (on its host) writes rooms' recordings, one folder
        per room; None: rooms are not recorded even when asked."""
        connection = await JanusConnection.open(url, api_secret, request_timeout=request_timeout)
        admin = await connection.create_session(keepalive_s=keepalive_s)
        handle = await vr.attach(admin)
        return cls(connection, admin, handle, keepalive_s=keepalive_s,
                   recordings_dir=recordings_dir)

    def _state(self, room: Room) -> _RoomState:
        state = self._rooms.get(room.id)
        if state is None:
            raise NotFound(f"room {room.id} is not open", code="video.room_not_open",
                           room=room.id)
        return state

    async def open_room(self, room_id: int, spec: RoomSpec) -> Room:
        """Room ``room_id`` (below 2**53: Janus's ids are JSON numbers), made if Janus has none
        of that number; one that exists (another ``cad serve`` made it) is used as it is."""
        state = self._rooms.get(room_id)
        if state is not None:
            return state.room
        # Every room has its folder, so that recording can start at any time.
        recordings = None
        if self._recordings is not None:
            recordings = f"{self._recordings.rstrip('/')}/{room_id}"
        try:
            await vr.create_room(self._handle, vr.RoomOptions(
                room=room_id, description=spec.description, publishers=spec.max_publishers,
                bitrate=spec.bitrate, record=spec.record and recordings is not None,
                rec_dir=recordings,
                audiolevel_event=spec.audio_levels,
            ))
        except VideoRoomError as exc:
            if exc.janus_code != VideoRoomError.ROOM_EXISTS:
                raise
        room = Room(room_id, spec, recordings)
        monitor = await vr.attach(self._admin)
        joined = await vr.join_publisher(monitor, room_id, MONITOR_DISPLAY)
        state = _RoomState(room, monitor, joined.id)
        state.published = {p.id for p in joined.publishers}
        state.pump = asyncio.create_task(state.run(), name=f"media-room-{room_id}")
        self._rooms[room_id] = state
        return room

    async def close_room(self, room: Room) -> None:
        state = self._rooms.pop(room.id, None)
        if state is None:
            return
        with contextlib.suppress(VideoRoomError):
            await vr.destroy_room(self._handle, room.id)
        if state.pump is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(state.pump, self._connection.request_timeout)
        state.finish()
        await state.monitor.detach()

    def events(self, room: Room) -> AsyncIterator[MediaEvent]:
        stream = _Stream()
        self._state(room).listeners.add(stream)
        return stream

    async def publisher(self, room: Room, display: str) -> JanusPublisherLeg:
        self._state(room)
        session = await self._connection.create_session(keepalive_s=self._keepalive_s)
        try:
            handle = await vr.attach(session)
            joined = await vr.join_publisher(handle, room.id, display)
        except BaseException:
            await session.destroy()
            raise
        return JanusPublisherLeg(session, handle, joined, display,
                                 recorded=room.recordings is not None)

    async def subscriber(self, room: Room, feeds: Sequence[int]) -> JanusSubscriberLeg:
        self._state(room)
        if not feeds:
            raise InvalidInput("a subscription needs at least one feed", code="video.no_feeds")
        session = await self._connection.create_session(keepalive_s=self._keepalive_s)
        try:
            handle = await vr.attach(session)
            subscription = await vr.join_subscriber(handle, room.id, list(feeds))
        except BaseException:
            await session.destroy()
            raise
        return JanusSubscriberLeg(session, handle, subscription)

    async def participants(self, room: Room) -> list[Participant]:
        state = self._state(room)
        return [
            Participant(p.id, p.display, p.publisher, p.talking)
            for p in await vr.list_participants(self._handle, room.id)
            if p.id != state.monitor_id
        ]

    async def record(self, room: Room, *, on: bool) -> None:
        if on and room.recordings is None:
            raise MediaPlaneError("the media server has no folder to record into",
                                  code="video.recording_unavailable")
        await vr.enable_recording(self._handle, room.id, record=on)

    async def kick(self, room: Room, feed_id: int) -> None:
        await vr.kick(self._handle, room.id, feed_id)

    async def mute(self, room: Room, feed_id: int, kind: MediaKind, *, muted: bool) -> None:
        feed = next((p for p in await self._feeds(room) if p.id == feed_id), None)
        if feed is None:
            raise NotFound(f"no feed {feed_id} in the room", code="video.no_such_feed",
                           feed=feed_id)
        for stream in feed.streams:
            if stream.type == kind:
                await vr.moderate(self._handle, room.id, feed_id, stream.mid, mute=muted)

    async def _feeds(self, room: Room) -> list[vr.Publisher]:
        """The room's active publishers with their streams (a fresh monitor's join says)."""
        probe = await vr.attach(self._admin)
        try:
            joined = await vr.join_publisher(probe, room.id, MONITOR_DISPLAY)
            return list(joined.publishers)
        finally:
            await probe.detach()

    @property
    def closed(self) -> bool:
        return self._connection.closed.is_set()

    async def forget_room(self, room: Room) -> None:
        """Stop watching ``room`` here, leaving it open on Janus for other processes."""
        state = self._rooms.pop(room.id, None)
        if state is None:
            return
        if state.pump is not None:
            state.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await state.pump
        state.finish()
        with contextlib.suppress(JanusError):
            await state.monitor.detach()

    async def close(self) -> None:
        """Leave Janus; rooms stay open there (only ``close_room`` ends one)."""
        for state in list(self._rooms.values()):
            await self.forget_room(state.room)
        await self._admin.destroy()
        await self._connection.close()
