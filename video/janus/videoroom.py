"""The VideoRoom plugin's requests, typed (message shapes from janus_videoroom.c's docs).

Room administration (create, destroy, kick, moderate, list participants) goes through any
handle attached to the plugin; a publisher and a subscriber each have a handle of their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from video.janus.client import JanusEvent, JanusHandle, JanusSession, Jsep
from video.janus.errors import JanusError

log = logging.getLogger(__name__)

PLUGIN = "janus.plugin.videoroom"
Json = dict[str, Any]


@dataclass(frozen=True)
class RoomOptions:
    """What a room is created with."""

    room: int
    description: str = ""
    publishers: int = 6
    bitrate: int = 512_000  # bits/s, the cap Janus sends publishers via REMB
    # False: a publisher's own ``configure`` bitrate applies (only our server sends those, and
    # never above the room's: a vehicle on a weak link is capped lower).
    bitrate_cap: bool = False
    record: bool = False
    rec_dir: str | None = None
    audiolevel_event: bool = True
    audio_active_packets: int = 50  # about a second of Opus at 20 ms per packet
    audio_level_average: int = 40  # dBov; 127 is silence
    videocodec: str = "vp8"
    audiocodec: str = "opus"
    # Janus asks every publisher for a key frame this often (seconds): a subscriber that lost
    # one (a lossy mobile link, a busy receiver that asks for none) sees a picture again soon.
    fir_freq: int = 5


@dataclass(frozen=True)
class Stream:
    """One published stream (``mid`` and ``type``: audio, video, data)."""

    mid: str
    type: str
    codec: str | None = None
    disabled: bool = False

    @staticmethod
    def of(item: Json) -> Stream:
        return Stream(mid=str(item.get("mid")), type=str(item.get("type")),
                      codec=item.get("codec"), disabled=bool(item.get("disabled", False)))


@dataclass(frozen=True)
class Publisher:
    """An active publisher of a room: a feed one may subscribe to."""

    id: int
    display: str
    streams: tuple[Stream, ...]

    @staticmethod
    def of(item: Json) -> Publisher:
        return Publisher(id=int(item["id"]), display=str(item.get("display", "")),
                         streams=tuple(Stream.of(s) for s in item.get("streams", [])))


@dataclass(frozen=True)
class Participant:
    id: int
    display: str
    publisher: bool
    talking: bool | None


@dataclass(frozen=True)
class Joined:
    """A publisher's join: its ids and the room's active publishers at that moment."""

    id: int
    private_id: int
    publishers: tuple[Publisher, ...]


@dataclass(frozen=True)
class SubscribedStream:
    """One m-line of a subscription: its own mid and the feed stream it carries."""

    mid: str
    type: str
    feed_id: int | None
    feed_mid: str | None
    active: bool

    @staticmethod
    def of(item: Json) -> SubscribedStream:
        feed = item.get("feed_id")
        return SubscribedStream(
            mid=str(item.get("mid")), type=str(item.get("type")),
            feed_id=None if feed is None else int(feed),
            feed_mid=None if item.get("feed_mid") is None else str(item["feed_mid"]),
            active=bool(item.get("active", True)) and feed is not None,
        )


@dataclass(frozen=True)
class Subscription:
    """Janus's offer for a subscription, and the streams it carries (None: no change)."""

    offer: Jsep | None
    streams: tuple[SubscribedStream, ...]


def _expect(event: JanusEvent, videoroom: str, request: str, key: str | None = None) -> Json:
    data = event.data
    if data.get("videoroom") != videoroom or (key is not None and key not in data):
        log.warning("janus answered %s with %s", request, data)
        raise JanusError(f"unexpected answer to {request}", code="video.sfu_unexpected",
                         request=request)
    return data


async def attach(session: JanusSession) -> JanusHandle:
    return await session.attach(PLUGIN)


# -- the room ----------------------------------------------------------------------------------

async def create_room(handle: JanusHandle, options: RoomOptions) -> int:
    body: Json = {
        "request": "create", "room": options.room, "permanent": False,
        "description": options.description or f"room {options.room}",
        "publishers": options.publishers, "bitrate": options.bitrate,
        "bitrate_cap": options.bitrate_cap, "record": options.record,
        "audiolevel_event": options.audiolevel_event,
        "audio_active_packets": options.audio_active_packets,
        "audio_level_average": options.audio_level_average,
        "videocodec": options.videocodec, "audiocodec": options.audiocodec,
        "fir_freq": options.fir_freq,
    }
    if options.rec_dir is not None:
        body["rec_dir"] = options.rec_dir
    data = _expect(await handle.message(body), "created", "create")
    return int(data["room"])


async def enable_recording(handle: JanusHandle, room: int, *, record: bool) -> None:
    """Start or stop recording every publisher of the room (its ``rec_dir``)."""
    body: Json = {"request": "enable_recording", "room": room, "record": record}
    _expect(await handle.message(body), "success", "enable_recording")


async def destroy_room(handle: JanusHandle, room: int) -> None:
    _expect(await handle.message({"request": "destroy", "room": room}), "destroyed", "destroy")


async def exists(handle: JanusHandle, room: int) -> bool:
    data = _expect(await handle.message({"request": "exists", "room": room}), "success", "exists")
    return bool(data.get("exists"))


async def list_participants(handle: JanusHandle, room: int) -> list[Participant]:
    data = _expect(await handle.message({"request": "listparticipants", "room": room}),
                   "participants", "listparticipants")
    return [
        Participant(id=int(p["id"]), display=str(p.get("display", "")),
                    publisher=bool(p.get("publisher")), talking=p.get("talking"))
        for p in data.get("participants", [])
    ]


async def kick(handle: JanusHandle, room: int, participant: int) -> None:
    _expect(await handle.message({"request": "kick", "room": room, "id": participant}),
            "success", "kick")


async def moderate(handle: JanusHandle, room: int, participant: int, mid: str,
                   *, mute: bool) -> None:
    """Mute (or let again) one stream of a participant, whatever it does itself."""
    body = {"request": "moderate", "room": room, "id": participant, "mid": mid, "mute": mute}
    _expect(await handle.message(body), "success", "moderate")


# -- a publisher -------------------------------------------------------------------------------

async def join_publisher(handle: JanusHandle, room: int, display: str) -> Joined:
    body = {"request": "join", "ptype": "publisher", "room": room, "display": display}
    data = _expect(await handle.message(body), "joined", "join")
    return Joined(id=int(data["id"]), private_id=int(data.get("private_id", 0)),
                  publishers=tuple(Publisher.of(p) for p in data.get("publishers", [])))


async def publish(handle: JanusHandle, offer: Jsep, *, bitrate: int | None = None,
                  display: str | None = None, filename: str | None = None) -> Jsep:
    """Publish with an offer; Janus's answer. ``filename``: the base name of this publisher's
    recorded files (in the room's ``rec_dir``) whenever the room is recorded."""
    body: Json = {"request": "publish"}
    if filename is not None:
        body["filename"] = filename
    if bitrate is not None:
        body["bitrate"] = bitrate
    if display is not None:
        body["display"] = display
    event = await handle.message(body, offer)
    _expect(event, "event", "publish", "configured")
    if event.jsep is None:
        raise JanusError("janus answered publish without an SDP answer",
                         code="video.sfu_unexpected", request="publish")
    return event.jsep


async def configure(handle: JanusHandle, *, bitrate: int | None = None,
                    send: dict[str, bool] | None = None, keyframe: bool = False) -> None:
    """Change a publisher's bitrate cap, or relay or hold some of its streams (by mid)."""
    body: Json = {"request": "configure"}
    if bitrate is not None:
        body["bitrate"] = bitrate
    if keyframe:
        body["keyframe"] = True
    if send:
        body["streams"] = [{"mid": mid, "send": on} for mid, on in send.items()]
    _expect(await handle.message(body), "event", "configure", "configured")


async def unpublish(handle: JanusHandle) -> None:
    _expect(await handle.message({"request": "unpublish"}), "event", "unpublish", "unpublished")


async def leave(handle: JanusHandle) -> None:
    _expect(await handle.message({"request": "leave"}), "event", "leave", "leaving")


# -- a subscriber ------------------------------------------------------------------------------

def _feeds(feeds: list[int]) -> list[Json]:
    return [{"feed": feed} for feed in feeds]


async def join_subscriber(handle: JanusHandle, room: int, feeds: list[int],
                          *, private_id: int | None = None) -> Subscription:
    """Subscribe to every stream of ``feeds``: Janus's offer, to answer with ``start``."""
    body: Json = {"request": "join", "ptype": "subscriber", "room": room,
                  "streams": _feeds(feeds)}
    if private_id is not None:
        body["private_id"] = private_id
    event = await handle.message(body)
    data = _expect(event, "attached", "join")
    return Subscription(event.jsep, tuple(SubscribedStream.of(s) for s in data.get("streams", [])))


async def start(handle: JanusHandle, answer: Jsep) -> None:
    _expect(await handle.message({"request": "start"}, answer), "event", "start", "started")


async def configure_subscriber(handle: JanusHandle, substreams: dict[str, int]) -> None:
    """Which simulcast substream each of a subscription's video streams forwards (by mid);
    a stream whose publisher sends no simulcast is unaffected."""
    body: Json = {"request": "configure",
                  "streams": [{"mid": mid, "substream": n} for mid, n in substreams.items()]}
    _expect(await handle.message(body), "event", "configure", "configured")


async def update(handle: JanusHandle, *, add: list[int], remove: list[int]) -> Subscription:
    """Change which feeds a subscription carries: Janus's new offer (None: nothing changed, or
    the renegotiation is queued behind one under way and comes as an ``updated`` event)."""
    body: Json = {"request": "update"}
    if add:
        body["subscribe"] = _feeds(add)
    if remove:
        body["unsubscribe"] = _feeds(remove)
    event = await handle.message(body)
    data = event.data
    if data.get("videoroom") == "updating":
        return Subscription(None, ())
    data = _expect(event, "updated", "update")
    return Subscription(event.jsep,
                        tuple(SubscribedStream.of(s) for s in data.get("streams", [])))
