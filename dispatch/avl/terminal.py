"""The unit terminal protocol, version 1: the frames a terminal sends, parsed into messages,
and the frames the server answers with (``docs/protocols/unit.md``, one JSON Schema per frame
in ``docs/protocols/schemas/``).

Parsing is pure: a frame that cannot be used raises :class:`FrameError` naming the field (a
dotted path such as ``positions.3.lat``); nothing of it is acted on. The checks of the
position itself (ranges, future times) are ``dispatch.avl.fixes.check``'s.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dispatch.avl.fixes import Datum, Reported
from dispatch.errors import InvalidInput

VERSION = 1
MAX_BATCH = 500
MAX_KEY = 100
MAX_TEXT = 2000
MAX_FRAME_BYTES = 256_000
CLIENT_TYPES = ("position", "positions", "status", "ack", "message")


class FrameError(InvalidInput):
    """A frame that cannot be used; ``field`` names what is wrong."""

    code = "terminal.frame_invalid"

    def __init__(self, message: str, *, code: str, field: str, **params: Any) -> None:
        super().__init__(message, code=code, field=field, **params)
        self.field = field


@dataclass(frozen=True)
class PositionsMsg:
    """One position (``position``) or a batch buffered offline (``positions``)."""

    key: str
    batch: bool
    reports: list[tuple[Reported, int | None]]


@dataclass(frozen=True)
class StatusMsg:
    key: str
    status: str
    reason: str


@dataclass(frozen=True)
class AckMsg:
    key: str
    assignment_id: int


@dataclass(frozen=True)
class TextMsg:
    key: str
    text: str


Message = PositionsMsg | StatusMsg | AckMsg | TextMsg


def _missing(field: str) -> FrameError:
    return FrameError(f"{field} is required", code="terminal.field_missing", field=field)


def _wrong(field: str, wanted: str, value: object) -> FrameError:
    return FrameError(
        f"{field} must be {wanted}, not {json.dumps(value)[:60]}",
        code="terminal.field_invalid",
        field=field,
        wanted=wanted,
        value=json.dumps(value)[:60],
    )


def _text(obj: dict[str, Any], name: str, field: str, limit: int, required: bool = True) -> str:
    if name not in obj:
        if required:
            raise _missing(field)
        return ""
    value = obj[name]
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise _wrong(field, f"a text of 1 to {limit} characters", value)
    return value


def _number(obj: dict[str, Any], name: str, field: str) -> float | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(field, "a number", value)
    return float(value)


def _time(value: object, field: str) -> datetime:
    """ISO 8601 with a time zone, or epoch milliseconds."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise _wrong(field, "an ISO 8601 time or epoch milliseconds", value) from None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise _wrong(field, "an ISO 8601 time or epoch milliseconds", value) from None
    raise _wrong(field, "an ISO 8601 time or epoch milliseconds", value)


def parse_position(obj: object, field: str) -> tuple[Reported, int | None]:
    """One position object: WGS84 unless ``crs`` says GCJ-02 or CGCS2000; speed in m/s."""
    if not isinstance(obj, dict):
        raise _wrong(field, "an object", obj)
    for name in ("lat", "lon", "time"):
        if name not in obj:
            raise _missing(f"{field}.{name}")
    lat, lon = _number(obj, "lat", f"{field}.lat"), _number(obj, "lon", f"{field}.lon")
    if lat is None:
        raise _missing(f"{field}.lat")
    if lon is None:
        raise _missing(f"{field}.lon")
    crs = obj.get("crs", "wgs84")
    try:
        datum = Datum(str(crs).lower())
    except ValueError:
        raise _wrong(f"{field}.crs", "wgs84, gcj02 or cgcs2000", crs) from None
    seq = obj.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        raise _wrong(f"{field}.seq", "a whole number", seq)
    reported = Reported(
        lat=lat,
        lon=lon,
        device_time=_time(obj["time"], f"{field}.time"),
        accuracy_m=_number(obj, "accuracy", f"{field}.accuracy"),
        speed_mps=_number(obj, "speed", f"{field}.speed"),
        heading_deg=_number(obj, "heading", f"{field}.heading"),
        altitude_m=_number(obj, "altitude", f"{field}.altitude"),
        battery_pct=_number(obj, "battery", f"{field}.battery"),
        datum=datum,
    )
    return reported, seq


def parse(raw: str | bytes) -> Message:
    """A terminal's frame as a message, or :class:`FrameError` naming the field."""
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError(
            f"a frame is at most {MAX_FRAME_BYTES} bytes",
            code="terminal.frame_too_large",
            field="",
            limit=MAX_FRAME_BYTES,
        )
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FrameError(
            "a frame is one JSON object", code="terminal.frame_not_json", field=""
        ) from None
    if not isinstance(obj, dict):
        raise _wrong("", "a JSON object", obj)
    if obj.get("v") != VERSION:
        if "v" not in obj:
            raise _missing("v")
        raise FrameError(
            f"protocol version {obj.get('v')!r} is not spoken here (version {VERSION} is)",
            code="terminal.version_unsupported",
            field="v",
            version=str(obj.get("v")),
            supported=VERSION,
        )
    kind = obj.get("type")
    if kind not in CLIENT_TYPES:
        if "type" not in obj:
            raise _missing("type")
        raise _wrong("type", " or ".join(CLIENT_TYPES), kind)
    key = _text(obj, "key", "key", MAX_KEY)
    if kind == "position":
        if "position" not in obj:
            raise _missing("position")
        return PositionsMsg(key, False, [parse_position(obj["position"], "position")])
    if kind == "positions":
        items = obj.get("positions")
        if items is None:
            raise _missing("positions")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            raise _wrong("positions", f"a list of 1 to {MAX_BATCH} positions", items)
        return PositionsMsg(
            key, True, [parse_position(p, f"positions.{i}") for i, p in enumerate(items)]
        )
    if kind == "status":
        return StatusMsg(
            key, _text(obj, "status", "status", 40), _text(obj, "reason", "reason", 500, False)
        )
    if kind == "ack":
        if "assignment_id" not in obj:
            raise _missing("assignment_id")
        aid = obj["assignment_id"]
        if isinstance(aid, bool) or not isinstance(aid, int) or aid < 1:
            raise _wrong("assignment_id", "an assignment id (a whole number from 1)", aid)
        return AckMsg(key, aid)
    return TextMsg(key, _text(obj, "text", "text", MAX_TEXT))
