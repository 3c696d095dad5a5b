"""The video signaling protocol, version 1: the frames a participant sends, parsed into
messages, and the frames the server answers with (``docs/protocols/video.md``).

Parsing is pure: a frame that cannot be used raises :class:`FrameError` naming the field (a
dotted path such as ``candidate.sdpMLineIndex``); nothing of it is acted on, and the socket
stays open. Whether an SDP is one the media plane can take is the media plane's check; here
only its shape and size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from video.errors import InvalidInput
from video.layers import HIGH, LAYERS
from video.media_plane import Candidate

VERSION = 1
MAX_FRAME_BYTES = 64_000
MAX_SDP = 32_000
MAX_CANDIDATE = 1_000
MAX_FEEDS = 32
MAX_ID = 64
CLIENT_TYPES = ("publish", "unpublish", "subscribe", "answer", "candidate", "stats", "leave")
Leg = Literal["publisher", "subscriber"]
LEGS: tuple[Leg, ...] = ("publisher", "subscriber")


class FrameError(InvalidInput):
    """A frame that cannot be used; ``field`` names what is wrong."""

    def __init__(self, message: str, *, code: str, field: str, **params: Any) -> None:
        super().__init__(message, code=code, field=field, **params)
        self.field = field
        #: the frame's ``id`` when it had a usable one, so that the error answers it
        self.ident: str | None = None


@dataclass(frozen=True)
class PublishMsg:
    """An offer for what the participant sends (first, or again to add or drop a track)."""

    id: str
    sdp: str
    audio: bool
    video: bool


@dataclass(frozen=True)
class UnpublishMsg:
    id: str


@dataclass(frozen=True)
class SubscribeMsg:
    """Which participants' media to receive: their ids, or every one (``feeds`` None)."""

    id: str
    feeds: tuple[int, ...] | None
    #: the highest simulcast layer wanted (``video.layers``: 0 low .. 2 high)
    layer: int = HIGH


@dataclass(frozen=True)
class AnswerMsg:
    """The answer to the server's ``offer`` of the participant's subscription."""

    id: str
    sdp: str


@dataclass(frozen=True)
class CandidateMsg:
    """A trickled candidate of one leg; ``candidate`` None: the end of its candidates."""

    id: str
    leg: Leg
    candidate: Candidate | None


@dataclass(frozen=True)
class StatsMsg:
    """What the participant's own WebRTC statistics say of its link."""

    id: str
    loss: float | None
    rtt_ms: float | None
    bitrate_kbps: float | None


@dataclass(frozen=True)
class LeaveMsg:
    id: str


Message = PublishMsg | UnpublishMsg | SubscribeMsg | AnswerMsg | CandidateMsg | StatsMsg | LeaveMsg


def _layer(value: object) -> int:
    if not isinstance(value, str) or value not in LAYERS:
        raise FrameError(
            f"layer must be one of {', '.join(LAYERS)}",
            code="video.layer_unknown",
            field="layer",
            allowed=list(LAYERS),
        )
    return LAYERS.index(value)


def _wrong(field: str, wanted: str, value: object) -> FrameError:
    return FrameError(
        f"{field or 'the frame'} must be {wanted}",
        code="video.frame_invalid",
        field=field,
        wanted=wanted,
        got=type(value).__name__,
    )


def _text(obj: dict[str, Any], name: str, limit: int, *, field: str | None = None) -> str:
    field = field or name
    value = obj.get(name)
    if value is None:
        raise FrameError(f"{field} is missing", code="video.field_missing", field=field)
    if not isinstance(value, str) or not value.strip():
        raise _wrong(field, "a non-empty string", value)
    if len(value) > limit:
        raise FrameError(
            f"{field} is longer than {limit} characters",
            code="video.field_too_long",
            field=field,
            limit=limit,
        )
    return value


def _flag(obj: dict[str, Any], name: str, default: bool) -> bool:
    value = obj.get(name, default)
    if not isinstance(value, bool):
        raise _wrong(name, "true or false", value)
    return value


def _sdp(obj: dict[str, Any]) -> str:
    sdp = _text(obj, "sdp", MAX_SDP)
    if not sdp.startswith("v=0"):
        raise FrameError(
            "sdp is not a session description (it must start with v=0)",
            code="video.sdp_invalid",
            field="sdp",
            reason="sdp.no_version",
            line=1,
        )
    return sdp


def _ratio(obj: dict[str, Any], name: str, high: float) -> float | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
        raise FrameError(
            f"{name} must be a number from 0 to {high:g}",
            code="video.field_out_of_range",
            field=name,
            low=0,
            high=high,
        )
    return float(value)


def _candidate(value: object) -> Candidate | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _wrong("candidate", "an object or null", value)
    text = value.get("candidate")
    # An empty candidate string is how browsers say "no more candidates" for a section.
    if text == "":
        return None
    line = _text(value, "candidate", MAX_CANDIDATE, field="candidate.candidate")
    mid = value.get("sdpMid")
    if mid is not None and (not isinstance(mid, str) or len(mid) > MAX_ID):
        raise _wrong("candidate.sdpMid", "a short string or null", mid)
    index = value.get("sdpMLineIndex")
    if index is not None and (
        isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 64
    ):
        raise _wrong("candidate.sdpMLineIndex", "a number from 0 to 63 or null", index)
    return Candidate(candidate=line, sdp_mid=mid, sdp_mline_index=index)


def _feeds(value: object) -> tuple[int, ...] | None:
    if value == "all":
        return None
    if not isinstance(value, list) or not value:
        raise _wrong("feeds", '"all" or a non-empty list of participant ids', value)
    if len(value) > MAX_FEEDS:
        raise FrameError(
            f"feeds names more than {MAX_FEEDS} participants",
            code="video.field_too_long",
            field="feeds",
            limit=MAX_FEEDS,
        )
    feeds: list[int] = []
    for i, feed in enumerate(value):
        if isinstance(feed, bool) or not isinstance(feed, int) or feed <= 0:
            raise _wrong(f"feeds.{i}", "a participant id", feed)
        feeds.append(feed)
    return tuple(dict.fromkeys(feeds))


def parse(raw: str | bytes) -> Message:
    """One client frame into its message, or :class:`FrameError` (with the frame's ``id``
    when it had one)."""
    try:
        return _parse(raw)
    except FrameError as exc:
        if exc.ident is None:
            exc.ident = _ident_of(raw)
        raise


def _ident_of(raw: str | bytes) -> str | None:
    try:
        obj = json.loads(raw) if len(raw) <= MAX_FRAME_BYTES else None
    except (ValueError, UnicodeDecodeError):
        return None
    ident = obj.get("id") if isinstance(obj, dict) else None
    return ident if isinstance(ident, str) and 0 < len(ident) <= MAX_ID else None


def _parse(raw: str | bytes) -> Message:
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError(
            f"the frame is larger than {MAX_FRAME_BYTES} bytes",
            code="video.frame_too_large",
            field="",
            limit=MAX_FRAME_BYTES,
        )
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FrameError("the frame is not JSON", code="video.frame_not_json", field="") from None
    if not isinstance(obj, dict):
        raise _wrong("", "a JSON object", obj)
    if obj.get("v") != VERSION:
        raise FrameError(
            f"v must be {VERSION}", code="video.version_unsupported", field="v", version=VERSION
        )
    kind = obj.get("type")
    if kind not in CLIENT_TYPES:
        raise FrameError(
            "type is not a frame this server takes",
            code="video.type_unknown",
            field="type",
            allowed=list(CLIENT_TYPES),
        )
    ident = _text(obj, "id", MAX_ID)
    if kind == "publish":
        audio, video = _flag(obj, "audio", True), _flag(obj, "video", True)
        return PublishMsg(id=ident, sdp=_sdp(obj), audio=audio, video=video)
    if kind == "unpublish":
        return UnpublishMsg(id=ident)
    if kind == "subscribe":
        return SubscribeMsg(id=ident, feeds=_feeds(obj.get("feeds", "all")),
                            layer=_layer(obj.get("layer", LAYERS[HIGH])))
    if kind == "answer":
        return AnswerMsg(id=ident, sdp=_sdp(obj))
    if kind == "candidate":
        leg = obj.get("leg")
        if leg not in LEGS:
            raise _wrong("leg", '"publisher" or "subscriber"', leg)
        if "candidate" not in obj:
            raise FrameError("candidate is missing", code="video.field_missing", field="candidate")
        return CandidateMsg(id=ident, leg=leg, candidate=_candidate(obj["candidate"]))
    if kind == "stats":
        return StatsMsg(
            id=ident,
            loss=_ratio(obj, "loss", 1.0),
            rtt_ms=_ratio(obj, "rtt_ms", 60_000.0),
            bitrate_kbps=_ratio(obj, "bitrate_kbps", 100_000.0),
        )
    return LeaveMsg(id=ident)


def frame(kind: str, **fields: Any) -> str:
    """A server frame, encoded."""
    return json.dumps({"v": VERSION, "type": kind, **fields}, separators=(",", ":"))


def error_frame(exc: FrameError | Exception, *, ident: str | None = None) -> str:
    """The ``error`` frame for a refused frame or action: its code, field and params."""
    code = getattr(exc, "code", "video.invalid")
    params = dict(getattr(exc, "params", {}))
    return frame(
        "error",
        id=ident,
        code=code,
        field=params.pop("field", ""),
        message=getattr(exc, "message", str(exc)),
        params=params,
    )
