"""Incident numbers, taxonomy, priority and levels, status machine, duplicates, merge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from command.errors import Conflict, InvalidInput
from command.incidents.domain import (
    CommandLevel,
    DuplicateWindow,
    IncidentStatus,
    IncidentSummary,
    InvalidIncidentTransition,
    MergeSide,
    ResponseLevel,
    Taxonomy,
    advance_for_unit,
    after_last_unit_left,
    can_direct,
    change_response_level,
    check_reopen,
    check_status_change,
    escalate,
    format_number,
    hand_back,
    narrative_entry,
    parse_number,
    plan_merge,
    probable_duplicates,
    validate_priority,
)

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ST = IncidentStatus
TAX = Taxonomy.default()


def test_numbers() -> None:
    assert format_number(2026, 123) == "2026-000123"
    assert format_number(2026, 1_234_567) == "2026-1234567"
    assert parse_number("2026-000123") == (2026, 123)
    with pytest.raises(InvalidInput, match="not an incident number"):
        parse_number("26-12")
    with pytest.raises(InvalidInput, match="start at 1"):
        format_number(2026, 0)


def test_taxonomy_names_and_unknown_type() -> None:
    assert TAX.get("fire.structure").name("zh-CN") == "建筑火灾"
    assert TAX.get("fire.structure").name("en") == "Structure fire"
    assert TAX.get("fire.structure").category == "fire"
    for code in (
        "fire",
        "medical",
        "traffic_collision",
        "crime",
        "hazmat",
        "flood",
        "rescue",
        "public_health",
    ):
        assert code in TAX.types
    with pytest.raises(InvalidInput, match="unknown incident type 'ufo'"):
        TAX.get("ufo")


def test_configured_taxonomy_is_checked() -> None:
    tax = Taxonomy.from_mapping({"fire": {"zh-CN": "火灾", "en": "Fire", "priority": 1}})
    assert tax.get("fire").default_priority == 1
    with pytest.raises(InvalidInput, match="needs a zh-CN and an en name"):
        Taxonomy.from_mapping({"fire": {"en": "Fire"}})
    with pytest.raises(InvalidInput, match="no parent type fire"):
        Taxonomy.from_mapping({"fire.x": {"zh-CN": "x", "en": "x"}})
    with pytest.raises(InvalidInput, match="priority 9"):
        Taxonomy.from_mapping({"fire": {"zh-CN": "x", "en": "x", "priority": 9}})


def test_compatibility() -> None:
    assert TAX.compatible("fire.structure", "fire.vehicle")
    assert TAX.compatible("traffic_collision", "medical")
    assert TAX.compatible("medical", "traffic_collision")
    assert TAX.compatible("hazmat", "fire.structure")
    assert not TAX.compatible("crime.theft", "flood")


@pytest.mark.parametrize("bad", [0, 5, 7, -1, True])
def test_priority_outside_1_to_4(bad: int) -> None:
    with pytest.raises(InvalidInput, match=r"outside 1\.\.4"):
        validate_priority(bad)


def test_priority_ok() -> None:
    assert [validate_priority(p) for p in (1, 2, 3, 4)] == [1, 2, 3, 4]


def test_response_levels() -> None:
    assert ResponseLevel.parse("II") is ResponseLevel.II
    assert ResponseLevel.parse("Ⅲ级") is ResponseLevel.III
    assert ResponseLevel.parse(4) is ResponseLevel.IV
    with pytest.raises(InvalidInput, match="not one of I, II, III, IV"):
        ResponseLevel.parse("V")
    change = change_response_level(ResponseLevel.IV, ResponseLevel.II, " fire spread ", T0, "lead")
    assert (change.from_value, change.to_value, change.reason) == ("IV", "II", "fire spread")
    with pytest.raises(InvalidInput, match="reason is required"):
        change_response_level(ResponseLevel.IV, ResponseLevel.II, "  ", T0, "lead")
    with pytest.raises(Conflict, match="already IV"):
        change_response_level(ResponseLevel.IV, ResponseLevel.IV, "x", T0, "lead")


def test_escalation_goes_upwards() -> None:
    change = escalate(CommandLevel.DISTRICT, CommandLevel.CITY, "two districts", T0, "sup")
    assert (change.from_value, change.to_value) == ("district", "city")
    with pytest.raises(Conflict, match="escalation goes upwards"):
        escalate(CommandLevel.CITY, CommandLevel.DISTRICT, "x", T0, "sup")
    assert hand_back(CommandLevel.CITY, CommandLevel.DISTRICT, "contained", T0, "s").to_value == (
        "district"
    )
    with pytest.raises(Conflict):
        hand_back(CommandLevel.DISTRICT, CommandLevel.CITY, "x", T0, "s")
    assert can_direct(CommandLevel.CITY, CommandLevel.DISTRICT)
    assert not can_direct(CommandLevel.DISTRICT, CommandLevel.CITY)
    assert CommandLevel.parse("City") is CommandLevel.CITY


def test_status_moves_forward_and_may_skip() -> None:
    check_status_change("n", ST.NEW, ST.DISPATCHED)
    check_status_change("n", ST.DISPATCHED, ST.ON_SCENE)
    check_status_change("n", ST.ON_SCENE, ST.CLOSED)
    check_status_change("n", ST.UNDER_CONTROL, ST.CLOSED)
    check_status_change("n", ST.EN_ROUTE, ST.CANCELLED)


@pytest.mark.parametrize(
    ("frm", "to", "why"),
    [
        (ST.ON_SCENE, ST.DISPATCHED, "only moves forward"),
        (ST.CLOSED, ST.ON_SCENE, "reopen it"),
        (ST.CANCELLED, ST.CLOSED, "reopen it"),
        (ST.EN_ROUTE, ST.CLOSED, "units are on their way"),
        (ST.NEW, ST.NEW, "already new"),
    ],
)
def test_forbidden_status_changes(frm: IncidentStatus, to: IncidentStatus, why: str) -> None:
    with pytest.raises(InvalidIncidentTransition) as err:
        check_status_change("2026-000001", frm, to)
    assert f"incident 2026-000001 cannot go from {frm} to {to}" in err.value.message
    assert why in err.value.message
    assert err.value.kind == "conflict"


def test_unit_status_advances_incident() -> None:
    assert advance_for_unit(ST.NEW, "dispatched") is ST.DISPATCHED
    assert advance_for_unit(ST.DISPATCHED, "on_scene") is ST.ON_SCENE
    assert advance_for_unit(ST.ON_SCENE, "en_route") is None  # a second unit en route
    assert advance_for_unit(ST.UNDER_CONTROL, "on_scene") is None
    assert advance_for_unit(ST.NEW, "returning") is None


def test_an_incident_left_without_units_waits_again() -> None:
    assert after_last_unit_left(ST.DISPATCHED) is ST.NEW
    assert after_last_unit_left(ST.EN_ROUTE) is ST.NEW
    assert after_last_unit_left(ST.ON_SCENE) is None  # someone got there
    assert after_last_unit_left(ST.NEW) is None


def test_reopen() -> None:
    assert check_reopen("n", ST.CLOSED, " caller rang back ") == "caller rang back"
    with pytest.raises(InvalidIncidentTransition, match="only a closed or cancelled"):
        check_reopen("n", ST.ON_SCENE, "x")
    with pytest.raises(InvalidInput, match="reason is required"):
        check_reopen("n", ST.CLOSED, "")


def test_narrative_entries() -> None:
    e = narrative_entry("  smoke seen from the 3rd floor ", "ct1", T0)
    assert e.text == "smoke seen from the 3rd floor"
    assert e.kind == "note"
    with pytest.raises(InvalidInput, match="cannot be empty"):
        narrative_entry("   ", "ct1", T0)
    with pytest.raises(InvalidInput, match="limited to"):
        narrative_entry("x" * 9000, "ct1", T0)


def _summary(
    i: int,
    code: str,
    lon: float,
    lat: float,
    minutes_ago: float,
    status: IncidentStatus = ST.DISPATCHED,
) -> IncidentSummary:
    return IncidentSummary(
        i, f"2026-{i:06d}", code, status, lon, lat, T0 - timedelta(minutes=minutes_ago)
    )


def test_duplicates_within_window_nearest_first() -> None:
    lon, lat = 9.5209, 47.1410  # Vaduz
    candidates = [
        _summary(1, "fire.structure", lon + 0.002, lat, 5),  # ~150 m east
        _summary(2, "fire.vehicle", lon, lat + 0.0005, 10),  # ~55 m north
        _summary(3, "fire.structure", lon + 0.02, lat, 5),  # ~1.5 km: too far
        _summary(4, "fire.structure", lon, lat, 45),  # too old
        _summary(5, "crime.theft", lon, lat, 1),  # incompatible
        _summary(6, "fire.structure", lon, lat, 1, ST.CLOSED),  # closed
        _summary(7, "hazmat", lon, lat + 0.001, 2),  # compatible with fire
    ]
    hints = probable_duplicates("fire.structure", lon, lat, T0, candidates, TAX, DuplicateWindow())
    assert [h.incident_id for h in hints] == [2, 7, 1]
    assert 50 < hints[0].distance_m < 60
    assert 140 < hints[2].distance_m < 160
    assert hints[2].minutes_apart == pytest.approx(5)


def test_duplicate_window_is_configurable() -> None:
    lon, lat = 9.5209, 47.1410
    cands = [_summary(3, "fire.structure", lon + 0.02, lat, 50)]
    assert probable_duplicates("fire", lon, lat, T0, cands, TAX, DuplicateWindow()) == []
    wide = DuplicateWindow(distance_m=2000, minutes=60)
    assert len(probable_duplicates("fire", lon, lat, T0, cands, TAX, wide)) == 1
    with pytest.raises(InvalidInput):
        DuplicateWindow(distance_m=0)


def test_merge_takes_the_more_serious_of_both() -> None:
    a = MergeSide(1, "2026-000001", ST.ON_SCENE, 3, ResponseLevel.IV, CommandLevel.DISTRICT)
    b = MergeSide(2, "2026-000002", ST.NEW, 1, ResponseLevel.II, CommandLevel.CITY)
    plan = plan_merge(a, b)
    assert (plan.priority, plan.response_level, plan.command_level) == (
        1,
        ResponseLevel.II,
        CommandLevel.CITY,
    )
    with pytest.raises(InvalidInput, match="into itself"):
        plan_merge(a, a)
    closed = MergeSide(3, "2026-000003", ST.CLOSED, 1, ResponseLevel.II, CommandLevel.CITY)
    with pytest.raises(Conflict, match="2026-000003 is closed"):
        plan_merge(a, closed)
