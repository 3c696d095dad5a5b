"""The unit status machine, unit types and capabilities."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.errors import InvalidInput, InvalidTransition
from dispatch.units import (
    TRANSITIONS,
    UNIT_TYPES,
    Capability,
    Position,
    Unit,
    UnitStatus,
    acknowledge,
    parse_capability,
    transition,
    unit_type,
)

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
S = UnitStatus


def make_unit(status: UnitStatus = S.AVAILABLE, caps: str = "engine", **kw: object) -> Unit:
    return Unit(
        id=str(kw.pop("id", "E1")),
        callsign=str(kw.pop("callsign", "Engine 1")),
        unit_type="engine",
        station_id="st1",
        capabilities=frozenset(Capability(c) for c in caps.split(",")),
        crew=4,
        status=status,
        status_since=T0,
        **kw,  # type: ignore[arg-type]
    )


def test_full_cycle_of_an_ambulance() -> None:
    unit = make_unit(caps="ambulance_als,ambulance_bls")
    path = [
        S.DISPATCHED,
        S.EN_ROUTE,
        S.ON_SCENE,
        S.TRANSPORTING,
        S.AT_HOSPITAL,
        S.RETURNING,
        S.AVAILABLE,
    ]
    at = T0
    for step in path:
        at += timedelta(minutes=1)
        unit, event = transition(unit, step, at, incident_id=7 if step is S.DISPATCHED else None)
        assert unit.status is step
        assert unit.status_since == at
        assert event.to_status is step
    assert unit.incident_id is None


def test_incident_is_kept_while_assigned_and_released_after() -> None:
    unit, ev = transition(make_unit(), S.DISPATCHED, T0, incident_id=42)
    assert unit.incident_id == 42
    assert ev.incident_id == 42
    unit, _ = transition(unit, S.EN_ROUTE, T0)
    unit, _ = transition(unit, S.ON_SCENE, T0)
    assert unit.incident_id == 42
    unit, ev = transition(unit, S.AVAILABLE, T0)
    assert unit.incident_id is None
    assert ev.incident_id == 42  # the event still says which incident it left


@pytest.mark.parametrize(
    ("frm", "to"),
    [
        (S.AVAILABLE, S.ON_SCENE),
        (S.AVAILABLE, S.EN_ROUTE),
        (S.OUT_OF_SERVICE, S.DISPATCHED),
        (S.TRANSPORTING, S.AVAILABLE),
        (S.AT_HOSPITAL, S.ON_SCENE),
        (S.ON_SCENE, S.EN_ROUTE),
    ],
)
def test_forbidden_transitions_name_both_statuses(frm: UnitStatus, to: UnitStatus) -> None:
    unit = make_unit(frm, caps="ambulance_bls", incident_id=3)
    with pytest.raises(InvalidTransition) as err:
        transition(unit, to, T0, incident_id=3)
    assert f"from {frm} to {to}" in err.value.message
    assert err.value.kind == "conflict"


def test_every_listed_transition_is_allowed() -> None:
    for frm, targets in TRANSITIONS.items():
        for to in targets:
            unit = make_unit(frm, caps="ambulance_bls", incident_id=1)
            moved, _ = transition(unit, to, T0, incident_id=1)
            assert moved.status is to


def test_same_status_is_refused() -> None:
    with pytest.raises(InvalidTransition, match="already available"):
        transition(make_unit(), S.AVAILABLE, T0)


def test_busy_unit_is_only_diverted_when_asked() -> None:
    unit = make_unit(S.EN_ROUTE, incident_id=1)
    with pytest.raises(InvalidTransition, match="divert it explicitly"):
        transition(unit, S.DISPATCHED, T0, incident_id=2)
    moved, ev = transition(unit, S.DISPATCHED, T0, incident_id=2, divert=True)
    assert moved.incident_id == 2
    assert ev.from_status is S.EN_ROUTE


def test_returning_unit_can_be_dispatched_without_diversion() -> None:
    moved, _ = transition(make_unit(S.RETURNING), S.DISPATCHED, T0, incident_id=5)
    assert moved.status is S.DISPATCHED
    assert moved.incident_id == 5


def test_dispatch_needs_an_incident() -> None:
    with pytest.raises(InvalidInput, match="needs an incident"):
        transition(make_unit(), S.DISPATCHED, T0)


def test_only_ambulances_transport() -> None:
    with pytest.raises(InvalidTransition, match="not an ambulance"):
        transition(make_unit(S.ON_SCENE, incident_id=1), S.TRANSPORTING, T0)


def test_acknowledge_only_when_dispatched_and_once() -> None:
    unit, _ = transition(make_unit(), S.DISPATCHED, T0, incident_id=1)
    acked = acknowledge(unit, T0 + timedelta(seconds=10))
    assert acked.acknowledged_at == T0 + timedelta(seconds=10)
    assert acknowledge(acked, T0 + timedelta(seconds=50)).acknowledged_at == acked.acknowledged_at
    en_route, _ = transition(acked, S.EN_ROUTE, T0 + timedelta(seconds=60))
    assert en_route.acknowledged_at == acked.acknowledged_at
    with pytest.raises(InvalidTransition, match="only a dispatched unit"):
        acknowledge(make_unit(), T0)


def test_redispatch_clears_the_old_acknowledgment() -> None:
    unit, _ = transition(make_unit(), S.DISPATCHED, T0, incident_id=1)
    unit = acknowledge(unit, T0)
    diverted, _ = transition(unit, S.DISPATCHED, T0, incident_id=2, divert=True)
    assert diverted.acknowledged_at is None


def test_unit_types_and_capabilities() -> None:
    assert {Capability.AMBULANCE_ALS, Capability.AMBULANCE_BLS} == UNIT_TYPES[
        "ambulance_als"
    ].capabilities
    assert UNIT_TYPES["quint"].capabilities == {Capability.ENGINE, Capability.LADDER}
    assert unit_type("engine").name("zh-CN") == "水罐消防车"
    with pytest.raises(InvalidInput, match="unknown unit type 'spaceship'"):
        unit_type("spaceship")
    with pytest.raises(InvalidInput, match=r"unknown capability 'laser'.*engine"):
        parse_capability("laser")


def test_origin_prefers_gps_fix_over_station() -> None:
    base = make_unit(station_position=Position(9.52, 47.14))
    assert base.origin == ("station", Position(9.52, 47.14))
    fixed = replace(base, fix=Position(9.5, 47.1))
    assert fixed.origin == ("gps", Position(9.5, 47.1))
    assert make_unit().origin is None


def test_bad_positions_and_crew() -> None:
    with pytest.raises(InvalidInput, match="latitude 95"):
        Position(9.5, 95)
    with pytest.raises(InvalidInput, match="longitude 200"):
        Position(200, 47)
    with pytest.raises(InvalidInput, match="negative"):
        replace(make_unit(), crew=-1)
