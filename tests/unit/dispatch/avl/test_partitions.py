"""Daily partitions: which should exist, which retention drops, and their names."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from dispatch.avl.partitions import Partition, cutoff, expired, missing, parse, wanted

NOW = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)


def test_a_day_runs_from_midnight_to_midnight_utc() -> None:
    p = Partition(date(2026, 12, 2))
    assert p.name == "unit_positions_p20261202"
    assert p.lower == datetime(2026, 12, 2, tzinfo=UTC)
    assert p.upper - p.lower == timedelta(days=1)
    assert parse(p.name) == p
    assert parse("unit_positions_default") is None


def test_yesterday_today_and_the_days_ahead_are_wanted() -> None:
    days = [p.day for p in wanted(NOW, ahead_days=2)]
    assert days == [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3), date(2026, 12, 4)]
    # the UTC day counts, whatever the zone of the clock
    beijing = NOW.astimezone(timezone(timedelta(hours=8)))
    assert beijing.day == 3
    assert wanted(beijing, 0)[-1].day == date(2026, 12, 2)


def test_only_the_missing_ones_are_made() -> None:
    have = [Partition(date(2026, 12, 2))]
    assert [p.day for p in missing(have, NOW, 1)] == [date(2026, 12, 1), date(2026, 12, 3)]


def test_retention_drops_a_day_only_when_all_of_it_is_old() -> None:
    days = [Partition(date(2026, 11, d)) for d in (20, 21, 22)]
    before = cutoff(datetime(2026, 11, 22, 12, tzinfo=UTC), retention_days=0.5)
    assert before == datetime(2026, 11, 22, tzinfo=UTC)
    assert expired(reversed(days), before) == days[:2]
