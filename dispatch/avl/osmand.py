"""The OsmAnd protocol as Traccar documents it, and the JSON body of Traccar Client 9: what a
phone app or a commercial tracker sends, read into a device id and a reported position.

Query or form fields: ``id`` or ``deviceid``; ``lat`` and ``lon``, or ``location=lat,lon``;
``timestamp`` as epoch seconds, epoch milliseconds (from 10^12 on) or ISO 8601 (a time without a
zone is UTC, as Traccar reads it); ``speed`` in knots; ``bearing`` or ``heading`` in degrees;
``altitude`` in metres; ``accuracy`` in metres, or ``hdop`` (times 5 m, a typical range error);
``batt`` in percent. Without a timestamp the position is dated on arrival (as Traccar does).

Traccar Client 9 posts JSON: ``{"device_id", "location": {"timestamp", "coords": {"latitude",
"longitude", "accuracy", "speed" (m/s), "heading", "altitude"}, "battery": {"level" (0..1)}}}``.

Pure: a request that cannot be read raises :class:`OsmAndError` naming the field; the checks of
the position itself are ``dispatch.avl.fixes.check``'s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dispatch.avl.fixes import Reported
from dispatch.errors import InvalidInput

KNOT_MPS = 1852.0 / 3600.0
HDOP_M = 5.0
EPOCH_MS_FROM = 10**12


class OsmAndError(InvalidInput):
    """An OsmAnd request that cannot be read; ``field`` names what is wrong."""

    code = "osmand.invalid"

    def __init__(self, message: str, *, code: str, field: str, **params: Any) -> None:
        super().__init__(message, code=code, field=field, **params)
        self.field = field


@dataclass(frozen=True)
class OsmAndReport:
    device_id: str
    reported: Reported


def _missing(field: str) -> OsmAndError:
    return OsmAndError(f"{field} is required", code="osmand.field_missing", field=field)


def _number(field: str, raw: object) -> float:
    if isinstance(raw, bool):
        raise _invalid(field, raw)
    if isinstance(raw, int | float):
        return float(raw)
    try:
        return float(str(raw).strip())
    except ValueError:
        raise _invalid(field, raw) from None


def _invalid(field: str, raw: object) -> OsmAndError:
    return OsmAndError(
        f"{field} cannot be read: {str(raw)[:60]!r}",
        code="osmand.field_invalid",
        field=field,
        value=str(raw)[:60],
    )


def _optional(fields: Mapping[str, Any], *names: str) -> float | None:
    for name in names:
        raw = fields.get(name)
        if raw is not None and str(raw).strip() != "":
            return _number(name, raw)
    return None


def read_time(raw: object, field: str, now: datetime) -> datetime:
    """Epoch seconds, epoch milliseconds or ISO 8601 (UTC when it has no zone)."""
    if raw is None or str(raw).strip() == "":
        return now
    text = str(raw).strip()
    try:
        value = float(text)
    except ValueError:
        try:
            at = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _invalid(field, raw) from None
        return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    if not math.isfinite(value):
        raise _invalid(field, raw)
    try:
        return datetime.fromtimestamp(value / 1000 if value >= EPOCH_MS_FROM else value, UTC)
    except (OverflowError, OSError, ValueError):
        raise _invalid(field, raw) from None


def _device(value: object, field: str) -> str:
    device = str(value).strip() if value is not None else ""
    if not device:
        raise _missing(field)
    if len(device) > 64:
        raise _invalid(field, device)
    return device


def from_fields(fields: Mapping[str, str], now: datetime) -> OsmAndReport:
    """A request's query or form fields (the OsmAnd protocol)."""
    device = _device(fields.get("id") or fields.get("deviceid"), "id")
    if fields.get("location"):
        lat_text, comma, lon_text = str(fields["location"]).partition(",")
        if not comma:
            raise _invalid("location", fields["location"])
        lat, lon = _number("location", lat_text), _number("location", lon_text)
    else:
        for name in ("lat", "lon"):
            if not fields.get(name):
                raise _missing(name)
        lat, lon = _number("lat", fields["lat"]), _number("lon", fields["lon"])
    speed = _optional(fields, "speed")
    hdop = _optional(fields, "hdop")
    accuracy = _optional(fields, "accuracy")
    if accuracy is None and hdop is not None:
        accuracy = hdop * HDOP_M
    return OsmAndReport(
        device,
        Reported(
            lat=lat,
            lon=lon,
            device_time=read_time(fields.get("timestamp"), "timestamp", now),
            accuracy_m=accuracy,
            speed_mps=None if speed is None else speed * KNOT_MPS,
            heading_deg=_optional(fields, "bearing", "heading"),
            altitude_m=_optional(fields, "altitude"),
            battery_pct=_optional(fields, "batt"),
        ),
    )


def from_json(body: object, now: datetime) -> OsmAndReport:
    """The JSON body of Traccar Client 9."""
    if not isinstance(body, dict):
        raise _invalid("body", body)
    device = _device(body.get("device_id"), "device_id")
    location = body.get("location")
    if not isinstance(location, dict):
        raise _missing("location")
    coords = location.get("coords")
    if not isinstance(coords, dict):
        raise _missing("location.coords")
    for name in ("latitude", "longitude"):
        if coords.get(name) is None:
            raise _missing(f"location.coords.{name}")
    battery = location.get("battery")
    level = battery.get("level") if isinstance(battery, dict) else None

    def opt(name: str) -> float | None:
        raw = coords.get(name)
        if raw is None:
            return None
        value = _number(f"location.coords.{name}", raw)
        # The app sends -1 for what the phone does not know (speed, heading at a standstill).
        return None if value < 0 and name in ("speed", "heading", "accuracy") else value

    return OsmAndReport(
        device,
        Reported(
            lat=_number("location.coords.latitude", coords["latitude"]),
            lon=_number("location.coords.longitude", coords["longitude"]),
            device_time=read_time(location.get("timestamp"), "location.timestamp", now),
            accuracy_m=opt("accuracy"),
            speed_mps=opt("speed"),
            heading_deg=opt("heading"),
            altitude_m=opt("altitude"),
            battery_pct=None
            if level is None or _number("location.battery.level", level) < 0
            else _number("location.battery.level", level) * 100.0,
        ),
    )
