"""Response-time intervals, percentiles, distributions and targets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from command.errors import InvalidInput
from command.incidents.response_times import (
    IncidentTimes,
    Target,
    csv_rows,
    distribution,
    intervals,
    percentile,
    period_of,
    report,
    targets_from_mapping,
)

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def times(
    i: int,
    code: str,
    answered: float | None,
    created: float,
    dispatched: float | None,
    en_route: float | None,
    on_scene: float | None,
    where: str = "Vaduz",
    day: int = 0,
    engine: tuple[float, float] | None = None,
) -> IncidentTimes:
    base = T0 + timedelta(days=day)

    def at(s: float | None) -> datetime | None:
        return None if s is None else base + timedelta(seconds=s)

    created_at = at(created)
    assert created_at is not None
    return IncidentTimes(
        i,
        f"2026-{i:06d}",
        code,
        where,
        created_at,
        at(answered),
        at(dispatched),
        at(en_route),
        at(on_scene),
        at(engine[0]) if engine else None,
        at(engine[1]) if engine else None,
    )


def test_intervals_from_timestamps() -> None:
    iv = intervals(times(1, "fire.structure", 0, 40, 60, 130, 400))
    assert iv == {
        "call_processing": 60,
        "creation": 40,
        "dispatch": 20,
        "turnout": 70,
        "travel": 270,
        "engine_travel": None,
        "total": 400,
    }
    partial = intervals(times(2, "medical", None, 0, 30, None, None))
    assert partial["call_processing"] is None
    assert partial["dispatch"] == 30
    assert partial["turnout"] is None
    assert partial["total"] is None


def test_out_of_order_timestamps_are_not_counted() -> None:
    iv = intervals(times(1, "fire", 100, 50, 10, None, None))
    assert iv["call_processing"] is None
    assert iv["creation"] is None


def test_nearest_rank_percentile() -> None:
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 90) == 9
    assert percentile(values, 50) == 5
    assert percentile(values, 100) == 10
    assert percentile([7.0], 90) == 7
    assert percentile([], 90) is None
    with pytest.raises(InvalidInput):
        percentile(values, 0)


def test_distribution_buckets() -> None:
    assert distribution([10, 60, 61, 500], (60, 120)) == [("<=60", 2), ("<=120", 1), (">120", 1)]
    with pytest.raises(InvalidInput, match="strictly increasing"):
        distribution([1], (60, 30))


def test_report_per_category_with_targets() -> None:
    data = [
        # 10 medical calls: call processing 30..300 s (step 30); turnout 40 s each
        *(times(i, "medical", 0, 10, 30 * i, 30 * i + 40, 30 * i + 400) for i in range(1, 11)),
        # turnout 80 ok; an ambulance first on scene, the first engine 230 s after its turnout
        times(20, "fire.structure", 0, 20, 50, 130, 330, engine=(140, 370)),
        # call processing 70 > 64, turnout 90; first engine travel 300 s
        times(21, "fire.structure", 0, 20, 70, 160, 460, engine=(160, 460)),
    ]
    reports = {r.key["category"]: r for r in report(data, group_by=("category",))}
    med = reports["medical"]
    assert med.incidents == 10
    assert med.intervals["call_processing"].p90 == 270
    assert med.intervals["turnout"].p90 == 40
    results = {t.target.name: t for t in med.targets}
    nfpa1221 = results["NFPA 1221 alarm processing"]
    assert (nfpa1221.count, nfpa1221.met) == (10, 2)  # 30 and 60 s
    assert nfpa1221.passed is False
    china = results["China 120 ambulance dispatched"]
    assert (china.count, china.met) == (10, 6)  # up to 180 s
    assert results["NFPA 1710 turnout (medical)"].passed is True
    assert results["NFPA 1710 turnout (fire)"].count == 0
    assert results["NFPA 1710 turnout (fire)"].passed is None
    fire = {t.target.name: t for t in reports["fire"].targets}
    assert fire["NFPA 1710 turnout (fire)"].met == 1
    engine = fire["NFPA 1710 first engine travel"]
    assert (engine.count, engine.met) == (2, 1)
    assert reports["fire"].intervals["engine_travel"].maximum == 300
    assert reports["fire"].intervals["travel"].maximum == 300
    assert fire["NFPA 1221 alarm processing"].share_met == 0.5


def test_report_by_jurisdiction_and_period() -> None:
    data = [
        times(1, "medical", 0, 5, 20, 60, 300, "Vaduz", day=0),
        times(2, "medical", 0, 5, 20, 60, 300, "Schaan", day=0),
        times(3, "medical", 0, 5, 20, 60, 300, "Vaduz", day=1),
    ]
    keys = [dict(r.key) for r in report(data, group_by=("jurisdiction",), period="day")]
    assert keys == [
        {"period": "2026-11-21", "jurisdiction": "Schaan"},
        {"period": "2026-11-21", "jurisdiction": "Vaduz"},
        {"period": "2026-11-22", "jurisdiction": "Vaduz"},
    ]
    with pytest.raises(InvalidInput, match="cannot group by 'colour'"):
        report(data, group_by=("colour",))
    assert period_of(T0, "week") == "2026-W47"
    assert period_of(T0, "month") == "2026-11"
    with pytest.raises(InvalidInput):
        period_of(T0, "decade")


def test_targets_are_configurable_and_checked() -> None:
    [t] = targets_from_mapping(
        [
            {
                "name": "local",
                "interval": "travel",
                "limit_s": 480,
                "share": 0.9,
                "categories": ["medical"],
            }
        ]
    )
    assert t.applies_to("medical")
    assert not t.applies_to("fire")
    with pytest.raises(InvalidInput, match="unknown interval 'coffee'"):
        Target("x", "coffee", 10, 0.9)
    with pytest.raises(InvalidInput, match="needs 'share'"):
        targets_from_mapping([{"name": "x", "interval": "travel", "limit_s": 1}])


def test_csv_rows() -> None:
    [row] = csv_rows([times(1, "fire", 0, 40, 60, 130, None)])
    assert row["number"] == "2026-000001"
    assert row["turnout_s"] == "70.0"
    assert row["travel_s"] == ""
    assert row["first_on_scene_at"] == ""
