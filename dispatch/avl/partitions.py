"""Which daily partitions of the breadcrumbs should exist, and which retention drops.

Breadcrumbs (``unit_positions``) are partitioned by device time, one partition per UTC day:

- a playback of one unit over 24 hours touches at most two partitions, and within each one
  walks the (unit, device time) index of a table a fraction of the whole history's size;
- retention is stated in days, and dropping a day's partition is instant and leaves no dead
  rows behind (a ``DELETE`` of millions of rows would bloat the table and the index);
- at a thousand positions a second a day holds 86 million rows: partitions stay small enough to
  index and vacuum quickly, and a year of retention is only 365 partitions, few enough for the
  planner to prune cheaply.

Partitions are made ahead (today and ``ahead_days`` after, and yesterday for late batches) by
the maintenance task; a fix outside every partition (a terminal's buffer from long ago) lands in
the default partition, and is moved into its day's partition if that day is ever made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

PARENT = "unit_positions"
DEFAULT = f"{PARENT}_default"
_NAME = re.compile(rf"^{PARENT}_p(\d{{8}})$")


@dataclass(frozen=True, slots=True, order=True)
class Partition:
    """One day's partition: rows with ``lower <= device_time < upper``."""

    day: date

    @property
    def name(self) -> str:
        return f"{PARENT}_p{self.day:%Y%m%d}"

    @property
    def lower(self) -> datetime:
        return datetime.combine(self.day, time(), tzinfo=UTC)

    @property
    def upper(self) -> datetime:
        return self.lower + timedelta(days=1)


def parse(name: str) -> Partition | None:
    """The partition a table name stands for (None: not one of ours, the default included)."""
    found = _NAME.match(name)
    if found is None:
        return None
    return Partition(datetime.strptime(found.group(1), "%Y%m%d").date())


def wanted(now: datetime, ahead_days: int) -> list[Partition]:
    """The partitions that should exist at ``now``: yesterday, today and ``ahead_days`` more."""
    today = now.astimezone(UTC).date()
    return [Partition(today + timedelta(days=n)) for n in range(-1, ahead_days + 1)]


def missing(existing: Iterable[Partition], now: datetime, ahead_days: int) -> list[Partition]:
    have = set(existing)
    return [p for p in wanted(now, ahead_days) if p not in have]


def cutoff(now: datetime, retention_days: float) -> datetime:
    """Positions with a device time before this are past retention."""
    return now - timedelta(days=retention_days)


def expired(existing: Iterable[Partition], before: datetime) -> list[Partition]:
    """The partitions whose every row is older than ``before``, oldest first."""
    return sorted(p for p in existing if p.upper <= before)
