"""One participant's signaling channel: its frames drive the media plane for it.

The websocket route (``command/api/consultation_signaling.py``) admits the participant and
hands each frame it reads to :meth:`Channel.handle`; everything the server tells the
participant (answers, offers, the SFU's candidates, who is in and sending, mutes, the end)
goes through :attr:`Channel.outbox`. The channel owns the participant's two legs on the media
plane (what it sends, what it receives) and closes them when it ends, so that a participant who
vanishes leaves nothing behind in the room. Protocol: ``docs/protocols/video.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from command.auth.service import Principal
from command.consulting.live import LiveChange
from command.consulting.media import MediaRooms
from command.consulting.service import Consultations
from command.events import Event
from video import signaling as sig
from video.errors import Conflict, NotFound, VideoError
from video.layers import HIGH, LAYERS, LayerChoice
from video.live import MediaReport, MediaState, Quality
from video.media_plane import (
    FeedPublished,
    FeedUnpublished,
    Hangup,
    LocalCandidate,
    MediaEvent,
    MediaPlane,
    PublisherLeg,
    Renegotiate,
    Room,
    RoomClosed,
    SlowLink,
    SubscriberLeg,
    Talking,
    WebrtcUp,
)
from video.sessions import Admission

log = logging.getLogger(__name__)

#: close codes (docs/protocols/video.md)
REMOVED = 4403
REPLACED = 4409
ENDED = 4410
TRY_AGAIN_LATER = 1013
SESSION_ENDED = "session ended"
#: how often a viewer stepped down for a slow link is looked at for stepping up again
LAYER_TICK_S = 2.0


@dataclass(frozen=True)
class Closing:
    """The channel must end: close the socket with ``code`` and ``reason`` (a code word)."""

    code: int
    reason: str


@dataclass
class _Legs:
    publisher: PublisherLeg | None = None
    subscriber: SubscriberLeg | None = None
    #: subscribe to everyone who sends, now and later (``subscribe`` with ``"all"``)
    follow_all: bool = False
    wanted: set[int] = field(default_factory=set)
    sending: tuple[bool, bool] = (False, False)


def _candidate_json(found: LocalCandidate) -> dict[str, Any] | None:
    c = found.candidate
    if c is None:
        return None
    return {"candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_mline_index}


def media_json(state: MediaState) -> dict[str, Any]:
    q = state.quality
    return {
        "audio": state.sending_audio,
        "video": state.sending_video,
        "speaking": state.speaking,
        "quality": None if q is None else {
            "grade": q.grade, "loss": q.loss, "rtt_ms": q.rtt_ms, "bitrate_kbps": q.bitrate_kbps,
        },
    }


class Channel:
    """The server side of one participant's signaling socket."""

    def __init__(
        self,
        consultations: Consultations,
        rooms: MediaRooms,
        admission: Admission,
        principal: Principal,
        source: str,
        plane: MediaPlane,
        room: Room,
    ) -> None:
        self._service = consultations
        self._rooms = rooms
        self.admission = admission
        self._principal = principal
        self._source = source
        self._plane = plane
        self.room = room
        self.member = admission.member.key
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        #: set when the channel must end, with how the socket closes
        self.closing: asyncio.Future[Closing] = asyncio.get_running_loop().create_future()
        self._legs = _Legs()
        #: who sends what: feed id -> member key
        self._feeds: dict[int, str] = {}
        self._tasks: list[asyncio.Task[None]] = []
        # A subscribe frame and a feed appearing in the room change the subscription one at
        # a time: two at once would make two subscriber legs.
        self._subscribing = asyncio.Lock()
        self._unwatch: Callable[[], None] | None = None
        self._left = False
        #: the simulcast layer this participant receives (``video.layers``)
        self._layer = LayerChoice()
        #: steps the layer up again after a slow link; runs only while it is below the ceiling
        self._recovery: asyncio.Task[None] | None = None

    # -- opening and closing ------------------------------------------------------------------

    async def open(self, ice_servers: list[dict[str, Any]]) -> None:
        """Watch the room and the consultation, then greet: ``hello`` with who is in."""
        self._pump("room", self._plane.events(self.room), self._room_event)
        for p in await self._plane.participants(self.room):
            if p.publishing and p.display != self.member:
                self._feeds[p.id] = p.display
        details = await self._service.details(self.admission.consultation_id, self._principal)
        feeds_of = {member: feed for feed, member in self._feeds.items()}
        self._send("hello", participant=self.member,
                   consultation=self.admission.consultation_id,
                   role=self.admission.role.value,
                   muted={"audio": self.admission.audio_muted,
                          "video": self.admission.video_muted},
                   participants=[
                       {"member": p.key, "role": p.role.value, "state": p.state.value,
                        "feed": feeds_of.get(p.key),
                        "media": media_json(details.live.get(p.key, MediaState()))}
                       for p in details.participants
                   ],
                   ice_servers=ice_servers)
        # No wait since the details were read: no change of the live board is missed.
        self._unwatch = self._service.live.watch(self._live_change)

    async def close(self, reason: str) -> None:
        """Close both legs, stop watching; the participant left (``reason``) unless it was
        removed or the consultation ended (the service has recorded that already)."""
        if self._unwatch is not None:
            self._unwatch()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._close_leg("publisher")
        await self._close_leg("subscriber")
        if not self._left and reason not in ("removed", "ended", "connected_elsewhere"):
            self._left = True
            try:
                await self._service.left(
                    self.admission.consultation_id, self._principal, reason, self._source,
                    join=self.admission.join,
                )
            except VideoError as exc:
                log.info("%s's leaving not recorded: %s", self.member, exc)

    async def _close_leg(self, which: str) -> None:
        leg: PublisherLeg | SubscriberLeg | None
        if which == "publisher":
            leg, self._legs.publisher = self._legs.publisher, None
        else:
            leg, self._legs.subscriber = self._legs.subscriber, None
        if leg is not None:
            try:
                await leg.close()
            except VideoError as exc:
                log.info("closing %s's %s leg: %s", self.member, which, exc)

    def end(self, code: int, reason: str) -> None:
        if not self.closing.done():
            self.closing.set_result(Closing(code, reason))

    # -- frames in -----------------------------------------------------------------------------

    async def handle(self, raw: str | bytes) -> None:
        """One frame: acted on and answered (``ack`` or ``error``), never raising."""
        msg: sig.Message | None = None
        try:
            msg = sig.parse(raw)
            result = await self._act(msg)
            self._send("ack", id=msg.id, **result)
        except sig.FrameError as exc:
            self.outbox.put_nowait(sig.error_frame(exc, ident=exc.ident))
        except VideoError as exc:
            self.outbox.put_nowait(sig.error_frame(exc, ident=None if msg is None else msg.id))
        if isinstance(msg, sig.LeaveMsg):
            self.end(1000, "left")

    async def _act(self, msg: sig.Message) -> dict[str, Any]:
        match msg:
            case sig.PublishMsg():
                return await self._publish(msg)
            case sig.UnpublishMsg():
                await self._close_leg("publisher")
                self._report(MediaReport(sending_audio=False, sending_video=False))
                return {}
            case sig.SubscribeMsg():
                self._legs.follow_all = msg.feeds is None
                self._legs.wanted = set(msg.feeds or ())
                unknown = self._legs.wanted - set(self._feeds)
                if unknown:
                    missing = min(unknown)
                    raise NotFound(f"no feed {missing} in the room", code="video.no_such_feed",
                                   feed=missing)
                feeds = list(await self._resubscribe())
                if self._layer.choose(msg.layer) is not None:
                    await self._apply_layer("chosen")
                return {"feeds": feeds, "layer": LAYERS[self._layer.current]}
            case sig.AnswerMsg():
                if self._legs.subscriber is None:
                    raise Conflict("there is no offer to answer", code="video.no_offer")
                await self._legs.subscriber.start(msg.sdp)
                return {}
            case sig.CandidateMsg():
                leg = self._legs.publisher if msg.leg == "publisher" else self._legs.subscriber
                if leg is None:
                    raise Conflict(f"there is no {msg.leg} connection", code="video.no_leg",
                                   leg=msg.leg)
                await leg.trickle(msg.candidate)
                return {}
            case sig.StatsMsg():
                if msg.loss is not None and msg.rtt_ms is not None and msg.bitrate_kbps is not None:
                    self._report(MediaReport(quality=Quality(msg.loss, msg.rtt_ms,
                                                             msg.bitrate_kbps)))
                return {}
            case sig.LeaveMsg():
                await self.close("left")
                return {}

    async def _publish(self, msg: sig.PublishMsg) -> dict[str, Any]:
        legs = self._legs
        if legs.publisher is None:
            legs.publisher = await self._plane.publisher(self.room, self.member)
            self._pump("publisher", legs.publisher.events(), self._leg_event)
        answer = await legs.publisher.publish(
            msg.sdp, bitrate=self.admission.bitrate_kbps * 1000
        )
        if self.admission.audio_muted or self.admission.video_muted:
            await legs.publisher.configure(
                audio=False if self.admission.audio_muted else None,
                video=False if self.admission.video_muted else None,
            )
        legs.sending = (msg.audio, msg.video)
        self._send("answer", id=msg.id, sdp=answer)
        return {"feed": legs.publisher.feed_id}

    async def _resubscribe(self) -> tuple[int, ...]:
        """Bring the subscriber leg to the feeds wanted: made, updated, or closed; a new
        offer goes out when the SFU has one."""
        async with self._subscribing:
            feeds = await self._resubscribed()
        await self._apply_layer(None)
        return feeds

    async def _apply_layer(self, why: str | None) -> None:
        """Ask the SFU for the layer chosen; ``why`` it changed (told to the participant).
        None: the subscription's streams changed, and new ones start at the SFU's highest
        layer, so a lower one is asked for again."""
        if why is None and self._layer.current == HIGH:
            return
        leg = self._legs.subscriber
        if leg is not None:
            await leg.prefer(self._layer.current)
        if why is not None:
            self._send("layer", layer=LAYERS[self._layer.current], reason=why)

    async def _recovering(self) -> None:
        """A viewer stepped down for a slow link steps up again after quiet spells, until it
        is back at its ceiling."""
        while self._layer.current < self._layer.ceiling:
            await asyncio.sleep(LAYER_TICK_S)
            if self._layer.tick(time.monotonic()) is not None:
                try:
                    await self._apply_layer("recovered")
                except VideoError as exc:
                    log.info("%s's layer not raised: %s", self.member, exc)

    async def _resubscribed(self) -> tuple[int, ...]:
        legs = self._legs
        targets = set(self._feeds) if legs.follow_all else legs.wanted & set(self._feeds)
        if legs.subscriber is None:
            if not targets:
                return ()
            legs.subscriber = await self._plane.subscriber(self.room, sorted(targets))
            self._pump("subscriber", legs.subscriber.events(), self._leg_event)
            self._offer(legs.subscriber.offer)
            return legs.subscriber.feeds
        have = set(legs.subscriber.feeds)
        if targets == have:
            return legs.subscriber.feeds
        if not targets:
            await self._close_leg("subscriber")
            return ()
        offer = await legs.subscriber.update(add=sorted(targets - have),
                                             remove=sorted(have - targets))
        if offer is not None:
            self._offer(offer)
        return legs.subscriber.feeds

    def _offer(self, sdp: str) -> None:
        """The SFU's offer of the subscription, with what each of its m-lines carries."""
        leg = self._legs.subscriber
        streams = () if leg is None else leg.streams
        self._send("offer", sdp=sdp, streams=[
            {"mid": m.mid, "feed": m.feed_id, "member": self._feeds.get(m.feed_id),
             "kind": m.kind} for m in streams
        ])

    # -- events out ------------------------------------------------------------------------------

    def _send(self, kind: str, **fields: Any) -> None:
        self.outbox.put_nowait(sig.frame(kind, **fields))

    def _report(self, report: MediaReport) -> None:
        self._service.media(self.admission.consultation_id, self.admission.member, report)

    def _pump(self, name: str, events: AsyncIterator[MediaEvent],
              act: Callable[[MediaEvent], Awaitable[None]]) -> None:
        async def run() -> None:
            async for event in events:
                try:
                    await act(event)
                except VideoError as exc:
                    log.warning("%s: %s event %s not acted on: %s", self.member, name,
                                type(event).__name__, exc)

        self._tasks.append(asyncio.create_task(run(), name=f"signaling {self.member} {name}"))

    async def _leg_event(self, event: MediaEvent) -> None:
        legs = self._legs
        match event:
            case LocalCandidate():
                which = "publisher" if legs.publisher is not None and (
                    event.leg == legs.publisher.id) else "subscriber"
                self._send("candidate", leg=which, candidate=_candidate_json(event))
            case Renegotiate():
                self._offer(event.offer)
                await self._apply_layer(None)
            case SlowLink() if legs.subscriber is not None and event.leg == legs.subscriber.id:
                # The viewer asks again for many packets: a lower layer for it, at once.
                if self._layer.slow(time.monotonic()) is not None:
                    await self._apply_layer("slow_link")
                if self._recovery is None or self._recovery.done():
                    self._recovery = asyncio.create_task(
                        self._recovering(), name=f"signaling {self.member} layer"
                    )
                    self._tasks.append(self._recovery)
            case WebrtcUp() if legs.publisher is not None and event.leg == legs.publisher.id:
                audio, video = legs.sending
                self._report(MediaReport(sending_audio=audio, sending_video=video))
            case Hangup() if event.reason.startswith(SESSION_ENDED):
                # The SFU lost the leg (it restarted): the participant joins again.
                self.end(TRY_AGAIN_LATER, "video.leg_gone")
            case Hangup() if legs.publisher is not None and event.leg == legs.publisher.id:
                self._report(MediaReport(sending_audio=False, sending_video=False))

    async def _room_event(self, event: MediaEvent) -> None:
        match event:
            case FeedPublished(feed=feed) if feed.display != self.member:
                self._feeds[feed.id] = feed.display
                if self._legs.follow_all:
                    await self._resubscribe()
            case FeedUnpublished(feed_id=feed_id):
                self._feeds.pop(feed_id, None)
                # Janus drops it from subscriptions by itself (a ``Renegotiate``).
            case Talking(feed_id=feed_id, talking=talking):
                if feed_id == (self._legs.publisher.feed_id if self._legs.publisher else None):
                    self._report(MediaReport(speaking=talking))
            case RoomClosed():
                self.end(ENDED, "consultation.ended")

    def _live_change(self, change: LiveChange) -> None:
        if change.consultation_id == self.admission.consultation_id:
            self._send("participant", member=change.member, media=media_json(change.state))

    async def consultation_event(self, event: Event) -> None:
        """An event of the consultation from the hub: who joined or left, mutes, the end."""
        data = event.data
        if data.get("consultation_id") != self.admission.consultation_id:
            return
        kind = event.type.removeprefix("consultation.")
        member = data.get("member")
        if kind == "ended":
            self._send("ended", reason="consultation.ended")
            self.end(ENDED, "consultation.ended")
            await self._rooms.end(self.room)
        elif kind == "participant_capped" and member == self.member:
            kbps = int(data.get("bitrate_kbps") or self.admission.bitrate_kbps)
            if self._legs.publisher is not None:
                await self._legs.publisher.configure(bitrate=kbps * 1000)
            self._send("capped", bitrate_kbps=kbps)
        elif kind == "participant_removed" and member == self.member:
            self.end(REMOVED, "consultation.removed")
        elif kind == "participant_joined" and member == self.member:
            # Connected again, here or in another process: this connection is the old one.
            if int(data.get("join") or 0) > self.admission.join:
                self.end(REPLACED, "consultation.connected_elsewhere")
        elif kind == "participant_muted" and member == self.member:
            media, muted = str(data.get("media")), bool(data.get("muted"))
            if self._legs.publisher is not None:
                await self._legs.publisher.configure(**{media: not muted})
            self._send("muted", media=media, muted=muted)
        elif kind.startswith("participant_") and member != self.member:
            self._send("participant", member=member, state=data.get("state"))


class Channels:
    """The signaling channels of this process, one per participant; built once."""

    def __init__(self) -> None:
        self._open: dict[tuple[int, str], Channel] = {}

    def add(self, channel: Channel) -> None:
        key = (channel.admission.consultation_id, channel.member)
        old = self._open.get(key)
        self._open[key] = channel
        if old is not None:
            old.end(REPLACED, "consultation.connected_elsewhere")

    def remove(self, channel: Channel) -> None:
        key = (channel.admission.consultation_id, channel.member)
        if self._open.get(key) is channel:
            del self._open[key]

    def of(self, consultation_id: int, member: str) -> Channel | None:
        """The participant's open channel in this process, if any."""
        return self._open.get((consultation_id, member))
