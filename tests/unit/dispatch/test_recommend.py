"""Recommendation: the fastest cover of the required capabilities, with reasons."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from dispatch.errors import InvalidInput
from dispatch.recommend import recommend
from dispatch.runcards import RunCards
from dispatch.units import Capability, Position, Unit, UnitStatus

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
C = Capability
HOME = Position(9.52, 47.14)


def u(
    uid: str,
    *caps: Capability,
    status: UnitStatus = UnitStatus.AVAILABLE,
    home: Position | None = HOME,
) -> Unit:
    return Unit(
        uid,
        f"cs-{uid}",
        "x",
        "st",
        frozenset(caps),
        4,
        status,
        T0,
        station_position=home,
        incident_id=9
        if status not in (UnitStatus.AVAILABLE, UnitStatus.RETURNING, UnitStatus.OUT_OF_SERVICE)
        else None,
    )


def test_fastest_per_capability() -> None:
    units = [u("E1", C.ENGINE), u("E2", C.ENGINE), u("E3", C.ENGINE), u("L1", C.LADDER)]
    times = {"E1": 300.0, "E2": 120.0, "E3": 200.0, "L1": 400.0}
    rec = recommend({C.ENGINE: 2, C.LADDER: 1}, units, times)
    assert rec.unit_ids == ["E2", "E3", "L1"]
    assert rec.complete
    [slow] = [r for r in rec.rejected if r.unit_id == "E1"]
    assert slow.code == "slower"
    assert slow.reason == "slower than cs-E3 for engine (300 s vs 200 s)"
    assert rec.chosen[0].reason == "fastest engine (120 s)"
    assert rec.chosen[1].reason == "2nd fastest engine (200 s)"


def test_a_quint_counts_for_engine_and_ladder() -> None:
    units = [u("Q1", C.ENGINE, C.LADDER), u("E1", C.ENGINE), u("L1", C.LADDER)]
    rec = recommend({C.ENGINE: 1, C.LADDER: 1}, units, {"Q1": 100.0, "E1": 150.0, "L1": 90.0})
    # Fastest engine is the quint; fastest ladder is L1.  Both needed, E1 is not.
    assert rec.unit_ids == ["L1", "Q1"]
    q1 = next(c for c in rec.chosen if c.unit_id == "Q1")
    assert q1.covers == (C.ENGINE,)
    assert q1.also == (C.LADDER,)
    rec = recommend({C.ENGINE: 1, C.LADDER: 1}, units, {"Q1": 60.0, "E1": 150.0, "L1": 90.0})
    assert rec.unit_ids == ["Q1"]
    assert rec.chosen[0].covers == (C.ENGINE, C.LADDER)


def test_a_slow_multi_role_unit_does_not_block_a_faster_specialist() -> None:
    # Ladder first in any order must not make the slow quint the engine too.
    units = [u("Q1", C.ENGINE, C.LADDER), u("E1", C.ENGINE), u("L1", C.LADDER)]
    rec = recommend({C.LADDER: 1, C.ENGINE: 1}, units, {"Q1": 300.0, "E1": 120.0, "L1": 500.0})
    assert rec.unit_ids == ["E1", "Q1"]


def test_als_ambulance_serves_a_bls_call() -> None:
    units = [u("A1", C.AMBULANCE_ALS, C.AMBULANCE_BLS), u("B1", C.AMBULANCE_BLS)]
    rec = recommend({C.AMBULANCE_BLS: 1}, units, {"A1": 100.0, "B1": 200.0})
    assert rec.unit_ids == ["A1"]


def test_reasons_for_every_other_unit() -> None:
    units = [
        u("E1", C.ENGINE),
        u("E2", C.ENGINE, status=UnitStatus.ON_SCENE),
        u("E3", C.ENGINE, status=UnitStatus.OUT_OF_SERVICE),
        u("E4", C.ENGINE),
        u("E5", C.ENGINE, home=None),
        u("P1", C.POLICE_PATROL),
    ]
    times: dict[str, float | None] = {"E1": 100.0, "E2": 10.0, "E3": 10.0, "E4": None, "P1": 5.0}
    rec = recommend({C.ENGINE: 1}, units, times)
    codes = {r.unit_id: r.code for r in rec.rejected}
    assert rec.unit_ids == ["E1"]
    assert codes == {
        "E2": "busy",
        "E3": "out_of_service",
        "E4": "unreachable",
        "E5": "no_position",
        "P1": "not_needed",
    }
    busy = next(r for r in rec.rejected if r.unit_id == "E2")
    assert busy.reason == "busy (on_scene at incident 9)"


def test_uncovered_requirements_are_reported() -> None:
    rec = recommend({C.ENGINE: 3, C.HAZMAT: 1}, [u("E1", C.ENGINE)], {"E1": 60.0})
    assert rec.unit_ids == ["E1"]
    assert dict(rec.uncovered) == {C.ENGINE: 2, C.HAZMAT: 1}
    assert not rec.complete


def test_units_already_assigned_reduce_the_need() -> None:
    assigned = [u("E1", C.ENGINE, status=UnitStatus.EN_ROUTE)]
    units = [u("E2", C.ENGINE), u("E3", C.ENGINE), u("L1", C.LADDER)]
    rec = recommend(
        {C.ENGINE: 2, C.LADDER: 1}, units, {"E2": 50.0, "E3": 40.0, "L1": 70.0}, assigned=assigned
    )
    assert rec.unit_ids == ["E3", "L1"]
    assert "E1" not in {r.unit_id for r in rec.rejected}


def test_when_assigned_units_cover_everything_nothing_is_needed() -> None:
    assigned = [u("E1", C.ENGINE, status=UnitStatus.EN_ROUTE)]
    rec = recommend({C.ENGINE: 1}, [u("E2", C.ENGINE)], {"E2": 10.0}, assigned=assigned)
    assert rec.unit_ids == []
    assert rec.rejected[0].reason == "capability not needed: already covered by assigned units"


def test_ties_break_by_unit_id() -> None:
    units = [u("E9", C.ENGINE), u("E1", C.ENGINE)]
    assert recommend({C.ENGINE: 1}, units, {"E9": 60.0, "E1": 60.0}).unit_ids == ["E1"]


def test_bad_requirements() -> None:
    with pytest.raises(InvalidInput, match="cannot be negative"):
        recommend({C.ENGINE: -1}, [], {})


def test_random_fleets_give_the_fastest_cover() -> None:
    """Against brute force: every capability gets the n fastest eligible carriers; nothing extra."""
    rng = random.Random(1221)
    caps = [C.ENGINE, C.LADDER, C.AMBULANCE_BLS, C.HAZMAT]
    for _ in range(300):
        units = []
        times: dict[str, float | None] = {}
        for i in range(rng.randint(0, 12)):
            carried = rng.sample(caps, rng.randint(1, 2))
            status = rng.choice([UnitStatus.AVAILABLE] * 4 + [UnitStatus.ON_SCENE])
            uid = f"U{i:02d}"
            units.append(u(uid, *carried, status=status))
            times[uid] = None if rng.random() < 0.1 else float(rng.randint(30, 900))
        req = {c: rng.randint(0, 2) for c in rng.sample(caps, rng.randint(1, 3))}
        rec = recommend(req, units, times)
        chosen = set(rec.unit_ids)
        eligible = [
            x for x in units if x.status is UnitStatus.AVAILABLE and times[x.id] is not None
        ]
        for cap, n in req.items():
            carriers = sorted(
                (x for x in eligible if cap in x.capabilities),
                key=lambda x: (times[x.id], x.id),
            )
            want = {x.id for x in carriers[:n]}
            assert want <= chosen
            assert rec.uncovered.get(cap, 0) == max(0, n - len(carriers))
        needed_somewhere = set().union(
            *(
                {
                    x.id
                    for x in sorted(
                        (y for y in eligible if c in y.capabilities),
                        key=lambda y: (times[y.id], y.id),
                    )[:n]
                }
                for c, n in req.items()
            )
        )
        assert chosen == needed_somewhere
        assert {c.unit_id for c in rec.chosen}.isdisjoint(r.unit_id for r in rec.rejected)
        assert len(rec.chosen) + len(rec.rejected) == len(units)


def test_run_cards_fall_back_to_the_parent_type() -> None:
    cards = RunCards.default()
    assert cards.for_type("fire.structure")[C.LADDER] == 1
    assert cards.for_type("fire.chimney") == cards.for_type("fire")
    assert cards.for_type("alien_landing") == {}
    custom = RunCards.from_mapping({"medical": {"ambulance_als": 2}})
    assert custom.for_type("medical.fall") == {C.AMBULANCE_ALS: 2}
    with pytest.raises(InvalidInput, match="unknown capability 'unicorn'"):
        RunCards.from_mapping({"medical": {"unicorn": 1}})
