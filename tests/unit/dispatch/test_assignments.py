"""Assignment times are stamped once; ended assignments do not change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.assignments import Assignment, EndReason, end, stamp
from dispatch.errors import Conflict
from dispatch.units import UnitStatus

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_stamps_once_and_implies_acknowledgment() -> None:
    a = Assignment(1, 10, "E1", T0, "disp")
    a = stamp(a, UnitStatus.EN_ROUTE, T0 + timedelta(seconds=50))
    assert a.en_route_at == a.acknowledged_at == T0 + timedelta(seconds=50)
    again = stamp(a, UnitStatus.EN_ROUTE, T0 + timedelta(seconds=99))
    assert again.en_route_at == T0 + timedelta(seconds=50)
    a = stamp(a, UnitStatus.ON_SCENE, T0 + timedelta(seconds=300))
    assert a.on_scene_at == T0 + timedelta(seconds=300)
    assert stamp(a, UnitStatus.RETURNING, T0) == a


def test_ended_assignment_refuses_changes() -> None:
    a = end(Assignment(1, 10, "E1", T0, "disp"), EndReason.CANCELLED, T0)
    assert not a.open
    assert a.end_reason is EndReason.CANCELLED
    with pytest.raises(Conflict, match="has ended"):
        stamp(a, UnitStatus.ON_SCENE, T0)
    with pytest.raises(Conflict, match="already ended"):
        end(a, EndReason.CLEARED, T0)
