"""The media plane as the signaling sees it: rooms, publisher and subscriber legs, their events.

A small interface with no I/O, so that the SFU behind it can be replaced: ``video.janus.plane``
implements it on Janus VideoRoom. A participant of a consultation has one publisher leg (its
camera and microphone, one WebRTC connection) and one subscriber leg (the others' feeds, one
WebRTC connection Janus offers). SDPs are strings; candidates are :class:`Candidate`.
Errors are ``video.errors``: what a peer sent wrong is ``InvalidInput``, a room or feed that
is not there ``NotFound``, the SFU down or refusing ``MediaPlaneError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

MediaKind = Literal["audio", "video", "data"]


# -- what goes in ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RoomSpec:
    """A consultation's room: who may publish at once, the bitrate cap, recording."""

    description: str = ""
    max_publishers: int = 6
    bitrate: int = 512_000  # bits/s per publisher
    record: bool = False
    audio_levels: bool = True  # talking / stopped talking events


@dataclass(frozen=True)
class Candidate:
    """One ICE candidate as a browser's ``RTCIceCandidate`` carries it."""

    candidate: str  # "candidate:..." (a=candidate without the "a=")
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None


# -- what comes out ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Room:
    id: int
    spec: RoomSpec
    recordings: str | None  # the folder the SFU records into; None: it cannot record


@dataclass(frozen=True)
class FeedStream:
    mid: str
    kind: MediaKind | str
    codec: str | None = None


@dataclass(frozen=True)
class Feed:
    """A participant publishing in a room: what subscribers ask for."""

    id: int
    display: str
    streams: tuple[FeedStream, ...] = ()


@dataclass(frozen=True)
class SubscribedMedia:
    """One m-line of a subscription: its mid in the SFU's offer, whose feed, which media."""

    mid: str
    feed_id: int
    kind: str


@dataclass(frozen=True)
class Participant:
    id: int
    display: str
    publishing: bool
    talking: bool | None


# -- events: per room (feeds, talking) and per leg (connection state, renegotiation) -----------

@dataclass(frozen=True)
class FeedPublished:
    room: int
    feed: Feed


@dataclass(frozen=True)
class FeedUnpublished:
    room: int
    feed_id: int


@dataclass(frozen=True)
class Talking:
    room: int
    feed_id: int
    talking: bool  # False: stopped talking
    level_dbov: float | None = None  # 0 loud .. 127 silent


@dataclass(frozen=True)
class RoomClosed:
    room: int


@dataclass(frozen=True)
class WebrtcUp:
    leg: str


@dataclass(frozen=True)
class Hangup:
    """The leg's WebRTC connection (or its whole SFU session) ended."""

    leg: str
    reason: str


@dataclass(frozen=True)
class SlowLink:
    leg: str
    uplink: bool  # True: packets lost on their way to the SFU
    kind: str | None
    lost: int | None


@dataclass(frozen=True)
class MediaReceiving:
    """The SFU started or stopped receiving one of the leg's media (``no_media_timer``)."""

    leg: str
    kind: str
    mid: str | None
    receiving: bool


@dataclass(frozen=True)
class LocalCandidate:
    """A candidate of the SFU's side for the leg's peer (trickled); None: gathering done."""

    leg: str
    candidate: Candidate | None


@dataclass(frozen=True)
class Renegotiate:
    """The SFU changed a subscription by itself (a feed went away): its new offer, to be
    answered with ``SubscriberLeg.start``."""

    leg: str
    offer: str
    feeds: tuple[int, ...]


@dataclass(frozen=True)
class Kicked:
    leg: str


MediaEvent = (
    FeedPublished | FeedUnpublished | Talking | RoomClosed | WebrtcUp | Hangup | SlowLink
    | MediaReceiving | LocalCandidate | Renegotiate | Kicked
)


# -- the interface -----------------------------------------------------------------------------

class PublisherLeg(Protocol):
    """One participant's outgoing media."""

    @property
    def id(self) -> str: ...

    @property
    def feed_id(self) -> int: ...

    @property
    def present(self) -> tuple[Feed, ...]:
        """The feeds already published in the room when this participant joined."""
        ...

    async def publish(self, offer_sdp: str, *, bitrate: int | None = None) -> str:
        """The participant's offer in, the SFU's answer out."""
        ...

    async def trickle(self, candidate: Candidate | None) -> None:
        """One of the participant's candidates; None: it has no more."""
        ...

    async def configure(self, *, audio: bool | None = None, video: bool | None = None,
                        bitrate: int | None = None) -> None:
        """Relay or hold its audio or video; change its bitrate cap."""
        ...

    def events(self) -> AsyncIterator[MediaEvent]: ...

    async def close(self) -> None:
        """Unpublish and leave (idempotent)."""
        ...


class SubscriberLeg(Protocol):
    """One participant's incoming media: the feeds it chose, in one connection."""

    @property
    def id(self) -> str: ...

    @property
    def offer(self) -> str:
        """The SFU's latest offer, to be answered with ``start``."""
        ...

    @property
    def feeds(self) -> tuple[int, ...]: ...

    @property
    def streams(self) -> tuple[SubscribedMedia, ...]:
        """What each m-line of the latest offer carries (the active ones)."""
        ...

    async def start(self, answer_sdp: str) -> None: ...

    async def update(self, *, add: Sequence[int] = (), remove: Sequence[int] = ()) -> str | None:
        """Subscribe to more feeds or fewer: the SFU's new offer (None: nothing to negotiate)."""
        ...

    async def prefer(self, layer: int) -> None:
        """Forward this simulcast layer (``video.layers``) of every video stream carried now;
        a stream sent without simulcast is unaffected."""
        ...

    async def trickle(self, candidate: Candidate | None) -> None: ...

    def events(self) -> AsyncIterator[MediaEvent]: ...

    async def close(self) -> None: ...


class MediaPlane(Protocol):
    async def open_room(self, room_id: int, spec: RoomSpec) -> Room:
        """The room numbered ``room_id``: made, or joined as it is when it exists."""
        ...

    async def close_room(self, room: Room) -> None: ...

    async def publisher(self, room: Room, display: str) -> PublisherLeg: ...

    async def subscriber(self, room: Room, feeds: Sequence[int]) -> SubscriberLeg: ...

    async def participants(self, room: Room) -> list[Participant]: ...

    async def record(self, room: Room, *, on: bool) -> None:
        """Start or stop recording everyone who sends (``video.recording_unavailable`` when
        the SFU has nowhere to write); the files are named by ``video.recording_names``."""
        ...

    async def kick(self, room: Room, feed_id: int) -> None: ...

    async def mute(self, room: Room, feed_id: int, kind: MediaKind, *, muted: bool) -> None:
        """Hold (or relay again) one participant's audio or video, whatever it does itself."""
        ...

    def events(self, room: Room) -> AsyncIterator[MediaEvent]:
        """The room's events (feeds published and gone, talking), from now on."""
        ...

    @property
    def closed(self) -> bool:
        """The plane lost its SFU (its connection ended): make a new one."""
        ...

    async def close(self) -> None:
        """Let go of the SFU; its rooms stay open for other processes (``close_room`` ends one)."""
        ...
