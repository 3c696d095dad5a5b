"""Status timers raise alerts past their limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.errors import InvalidInput
from dispatch.timers import StatusLimits, overdue
from dispatch.units import Capability, Unit, UnitStatus

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def unit(uid: str, status: UnitStatus, since: datetime, **kw: object) -> Unit:
    return Unit(
        uid,
        uid,
        "engine",
        None,
        frozenset({Capability.ENGINE}),
        4,
        status,
        since,
        incident_id=kw.pop("incident_id", 1 if status is not UnitStatus.AVAILABLE else None),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_dispatched_not_acknowledged_within_60_s() -> None:
    u = unit("E1", UnitStatus.DISPATCHED, T0)
    limits = StatusLimits()
    assert overdue([u], T0 + timedelta(seconds=60), limits) == []
    [alert] = overdue([u], T0 + timedelta(seconds=61), limits)
    assert alert.code == "not_acknowledged"
    assert alert.limit_s == 60
    assert alert.elapsed_s == 61
    assert alert.over_s == 1
    assert alert.incident_id == 1


def test_acknowledged_unit_falls_under_turnout_limit() -> None:
    u = replace(unit("E1", UnitStatus.DISPATCHED, T0), acknowledged_at=T0 + timedelta(seconds=5))
    limits = StatusLimits()
    assert overdue([u], T0 + timedelta(seconds=70), limits) == []
    [alert] = overdue([u], T0 + timedelta(seconds=81), limits)
    assert alert.code == "turnout"


def test_configurable_limits_and_order() -> None:
    limits = StatusLimits({"not_acknowledged": 30, "at_hospital": 600})
    units = [
        unit("A", UnitStatus.DISPATCHED, T0),
        unit("B", UnitStatus.AT_HOSPITAL, T0 - timedelta(minutes=20)),
        unit("C", UnitStatus.ON_SCENE, T0 - timedelta(hours=5)),  # no limit configured
        unit("D", UnitStatus.AVAILABLE, T0 - timedelta(days=3)),  # available never alerts
    ]
    alerts = overdue(units, T0 + timedelta(seconds=40), limits)
    assert [(a.unit_id, a.code) for a in alerts] == [
        ("B", "at_hospital"),
        ("A", "not_acknowledged"),
    ]


def test_limits_are_validated() -> None:
    with pytest.raises(InvalidInput, match="unknown status timer 'coffee'"):
        StatusLimits({"coffee": 10})
    with pytest.raises(InvalidInput, match="must be positive"):
        StatusLimits({"turnout": 0})
