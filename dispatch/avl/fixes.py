"""A unit's position fix: what a terminal sends, the checks it must pass, and the ordering rule.

A fix is refused (with the field named) when it cannot be true: a latitude of 95, NaN, a device
time more than ``max_future_s`` ahead of the server's clock, a time before the unit existed. A
fix that implies an impossible speed from the unit's previous one is kept but flagged
(``jump``): a GPS glitch is evidence too, and deleting it hides it. The unit's latest position
is the newest by device time, so a late batch never moves the marker backwards and a refused
future time never freezes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from dispatch.errors import InvalidInput
from gis.coords import cgcs2000_to_wgs84, distance_m, gcj02_to_wgs84


class Datum(StrEnum):
    """The datum a device reports in; stored positions are always WGS84."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"  # the offset datum of maps in mainland China
    CGCS2000 = "cgcs2000"  # China's geodetic datum (EPSG:4490)


class FixRejected(InvalidInput):
    """A position that cannot be true; ``field`` names what is wrong."""

    code = "position.rejected"

    def __init__(self, message: str, *, code: str, field: str, **params: object) -> None:
        super().__init__(message, code=code, field=field, **params)
        self.field = field


@dataclass(frozen=True, slots=True)
class FixPolicy:
    """The limits a fix is checked against."""

    max_future_s: float = 120.0
    #: above this implied speed between consecutive fixes the later one is flagged as a jump
    max_speed_mps: float = 85.0  # ~300 km/h: no road vehicle, any helicopter
    #: jumps are judged only between fixes at least this far apart (GPS noise at a standstill)
    min_jump_m: float = 200.0


@dataclass(frozen=True, slots=True)
class Reported:
    """A position as it arrives, before any check (units as the protocols define them)."""

    lat: float
    lon: float
    device_time: datetime
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None
    altitude_m: float | None = None
    battery_pct: float | None = None
    datum: Datum = Datum.WGS84


@dataclass(frozen=True, slots=True)
class Fix:
    """A checked position of a unit, WGS84."""

    unit_id: str
    lon: float
    lat: float
    device_time: datetime
    received_at: datetime
    source: str  # terminal | osmand | simulated ...
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None
    altitude_m: float | None = None
    battery_pct: float | None = None
    #: the terminal's own running number of this fix (its idempotency key), if it sends one
    seq: int | None = None
    jump: bool = False


def _number(field: str, value: float, low: float, high: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise FixRejected(
            f"{field} must be a number, not {value!r}",
            code="position.not_a_number",
            field=field,
            value=str(value),
        )
    if not low <= value <= high:
        raise FixRejected(
            f"{field} {value:g} is outside {low:g}..{high:g}",
            code="position.out_of_range",
            field=field,
            value=value,
            low=low,
            high=high,
        )
    return float(value)


def _finite(field: str, value: float | None, low: float, high: float) -> float | None:
    return None if value is None else _number(field, value, low, high)


def check(
    reported: Reported,
    unit_id: str,
    received_at: datetime,
    source: str,
    *,
    unit_since: datetime | None = None,
    seq: int | None = None,
    policy: FixPolicy = FixPolicy(),
) -> Fix:
    """The fix, converted to WGS84, or :class:`FixRejected` naming the field."""
    lat = _number("lat", reported.lat, -90.0, 90.0)
    lon = _number("lon", reported.lon, -180.0, 180.0)
    at = reported.device_time
    if at.tzinfo is None:
        raise FixRejected(
            "the device time needs a time zone (or epoch seconds)",
            code="position.time_zone_missing",
            field="time",
        )
    ahead = (at - received_at).total_seconds()
    if ahead > policy.max_future_s:
        raise FixRejected(
            f"the device time {at.isoformat()} is {ahead:.0f} s ahead of the server's clock "
            f"(at most {policy.max_future_s:.0f} s allowed): check the device's clock",
            code="position.time_in_future",
            field="time",
            time=at.isoformat(),
            ahead_s=round(ahead),
            max_future_s=policy.max_future_s,
        )
    if unit_since is not None and at < unit_since - timedelta(seconds=1):
        raise FixRejected(
            f"the device time {at.isoformat()} is before the unit existed "
            f"({unit_since.isoformat()})",
            code="position.before_unit",
            field="time",
            time=at.isoformat(),
            since=unit_since.isoformat(),
        )
    if seq is not None and (isinstance(seq, bool) or not 0 <= seq < 2**63):
        raise FixRejected(
            f"seq must be a whole number from 0, not {seq!r}",
            code="position.seq_invalid",
            field="seq",
            seq=str(seq),
        )
    if reported.datum is Datum.GCJ02:
        lon, lat = gcj02_to_wgs84(lon, lat)
    elif reported.datum is Datum.CGCS2000:
        lon, lat = cgcs2000_to_wgs84(lon, lat)
    return Fix(
        unit_id=unit_id,
        lon=lon,
        lat=lat,
        device_time=at,
        received_at=received_at,
        source=source,
        accuracy_m=_finite("accuracy", reported.accuracy_m, 0.0, 100_000.0),
        speed_mps=_finite("speed", reported.speed_mps, 0.0, 340.0),
        heading_deg=_finite("heading", reported.heading_deg, 0.0, 360.0),
        altitude_m=_finite("altitude", reported.altitude_m, -1_000.0, 20_000.0),
        battery_pct=_finite("battery", reported.battery_pct, 0.0, 100.0),
        seq=seq,
    )


def implied_speed_mps(a: Fix, b: Fix) -> float | None:
    """The speed needed to get from ``a`` to ``b`` in their device times (None: same time)."""
    seconds = abs((b.device_time - a.device_time).total_seconds())
    metres = distance_m(a.lon, a.lat, b.lon, b.lat)
    if seconds == 0:
        return None if metres == 0 else math.inf
    return metres / seconds


def plausible(a: Fix, b: Fix, policy: FixPolicy = FixPolicy()) -> bool:
    """Whether a vehicle can get from ``a`` to ``b`` in the time between them."""
    if distance_m(a.lon, a.lat, b.lon, b.lat) < policy.min_jump_m:
        return True
    speed = implied_speed_mps(a, b)
    return speed is not None and speed <= policy.max_speed_mps


def judge(
    latest: Fix | None,
    suspect: Fix | None,
    fix: Fix,
    policy: FixPolicy = FixPolicy(),
) -> Fix:
    """``fix``, flagged as a jump when reaching it from the unit's latest position needs an
    impossible speed, unless it agrees with the previous suspect fix (two fixes that agree are
    a real move, not a glitch: the marker must not freeze at an old place).

    Only fixes newer than ``latest`` are judged; a late one never moves the marker anyway.
    """
    if latest is None or fix.device_time <= latest.device_time or plausible(latest, fix, policy):
        return fix
    if suspect is not None and suspect.device_time < fix.device_time and plausible(
        suspect, fix, policy
    ):
        return fix
    return replace(fix, jump=True)


def is_newer(current: Fix | None, candidate: Fix) -> bool:
    """Whether ``candidate`` becomes the unit's latest position: the newest device time wins,
    and a flagged jump does not move the marker."""
    if candidate.jump:
        return False
    return current is None or candidate.device_time > current.device_time
