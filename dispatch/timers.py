"""Status timers: which units have stayed too long in a status (pure, no clock of its own).

``overdue(units, now, limits)`` is called by whatever ticks (the status board, a periodic task)
with the current time; the limits are configuration. A dispatched unit that has not acknowledged
within ``not_acknowledged`` seconds raises that alert; once acknowledged but still not en route,
the ``turnout`` limit applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from dispatch.errors import InvalidInput
from dispatch.units import Unit, UnitStatus

#: Alert code per status (dispatched has two: before and after acknowledgment).
DEFAULT_LIMITS_S: dict[str, float] = {
    "not_acknowledged": 60.0,
    "turnout": 80.0,
    "en_route": 15 * 60.0,
    "on_scene": 60 * 60.0,
    "transporting": 45 * 60.0,
    "at_hospital": 30 * 60.0,
    "returning": 45 * 60.0,
}

_CODE_FOR_STATUS: dict[UnitStatus, str] = {
    UnitStatus.EN_ROUTE: "en_route",
    UnitStatus.ON_SCENE: "on_scene",
    UnitStatus.TRANSPORTING: "transporting",
    UnitStatus.AT_HOSPITAL: "at_hospital",
    UnitStatus.RETURNING: "returning",
}


@dataclass(frozen=True)
class StatusLimits:
    """Seconds a unit may stay in a status before an alert; a missing code means no limit."""

    seconds: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_LIMITS_S))

    def __post_init__(self) -> None:
        known = set(DEFAULT_LIMITS_S)
        for code, limit in self.seconds.items():
            if code not in known:
                raise InvalidInput(
                    f"unknown status timer {code!r}; known: {', '.join(sorted(known))}",
                    code="status_timer.unknown",
                    timer=code,
                    known=sorted(known),
                )
            if limit <= 0:
                raise InvalidInput(
                    f"status timer {code} must be positive, not {limit}",
                    code="status_timer.not_positive",
                    timer=code,
                    limit=limit,
                )


@dataclass(frozen=True)
class StatusAlert:
    """A unit over its limit."""

    unit_id: str
    code: str
    status: UnitStatus
    since: datetime
    limit_s: float
    elapsed_s: float
    incident_id: int | None

    @property
    def over_s(self) -> float:
        return self.elapsed_s - self.limit_s


def _timer(unit: Unit) -> tuple[str, datetime] | None:
    if unit.status is UnitStatus.DISPATCHED:
        if unit.acknowledged_at is None:
            return ("not_acknowledged", unit.status_since)
        return ("turnout", unit.status_since)
    code = _CODE_FOR_STATUS.get(unit.status)
    return None if code is None else (code, unit.status_since)


def overdue(units: Iterable[Unit], now: datetime, limits: StatusLimits) -> list[StatusAlert]:
    """Every unit past its status limit at ``now``, most overdue first."""
    alerts: list[StatusAlert] = []
    for unit in units:
        timer = _timer(unit)
        if timer is None:
            continue
        code, since = timer
        limit = limits.seconds.get(code)
        if limit is None:
            continue
        elapsed = (now - since).total_seconds()
        if elapsed > limit:
            alerts.append(
                StatusAlert(unit.id, code, unit.status, since, limit, elapsed, unit.incident_id)
            )
    alerts.sort(key=lambda a: (-a.over_s, a.unit_id))
    return alerts
