"""Unit recommendation: the fastest set of units covering the required capabilities (pure).

Input: the required capabilities in counts (from a run card or a plan), the units, and a
drive-time estimate per unit (seconds from its last GPS fix, else its station; ``None`` when no
route reaches the incident). Output: the chosen units and, for every other unit, why not.

The cover: for each required capability, the ``n`` fastest dispatchable units carrying it (after
subtracting what units already assigned to the incident bring). The recommendation is the union
of these sets. A unit carrying several capabilities counts towards each of them, so a quint can
be the first engine and the first ladder at once. Taking the ``n`` fastest per capability means
no capability could be covered sooner by any choice of units, and every chosen unit is among the
fastest for at least one capability, so none can be dropped without slowing that capability.
Ties are broken by unit id, so the answer is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from dispatch.errors import InvalidInput
from dispatch.units import DISPATCHABLE, Capability, Unit, UnitStatus


@dataclass(frozen=True)
class Choice:
    """A recommended unit, and for which capabilities (rank 1 = fastest of that capability)."""

    unit_id: str
    callsign: str
    drive_time_s: float
    origin: str
    covers: tuple[Capability, ...]
    also: tuple[Capability, ...]
    ranks: Mapping[Capability, int]
    reason: str


#: Why a unit was not recommended: stable, for consoles to word (docs/errors.md).
RejectionCode = Literal[
    "busy", "out_of_service", "no_position", "unreachable", "slower", "not_needed"
]


@dataclass(frozen=True)
class Rejection:
    """A unit not recommended, with a reason code a console can translate and an English text."""

    unit_id: str
    callsign: str
    code: RejectionCode
    reason: str
    drive_time_s: float | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recommendation:
    """The chosen units (fastest first), the others with reasons, and what stays uncovered."""

    requirements: Mapping[Capability, int]
    chosen: tuple[Choice, ...]
    rejected: tuple[Rejection, ...]
    uncovered: Mapping[Capability, int]

    @property
    def complete(self) -> bool:
        return not self.uncovered

    @property
    def unit_ids(self) -> list[str]:
        return [c.unit_id for c in self.chosen]


def validate_requirements(requirements: Mapping[Capability, int]) -> dict[Capability, int]:
    out: dict[Capability, int] = {}
    for cap, count in requirements.items():
        if not isinstance(cap, Capability):
            raise InvalidInput(
                f"unknown capability {cap!r}",
                code="recommendation.capability_unknown",
                capability=repr(cap),
            )
        if count < 0:
            raise InvalidInput(
                f"the count of {cap} cannot be negative ({count})",
                code="recommendation.count_negative",
                capability=cap.value,
                count=count,
            )
        if count > 0:
            out[cap] = count
    return out


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def recommend(
    requirements: Mapping[Capability, int],
    units: Iterable[Unit],
    drive_times: Mapping[str, float | None],
    *,
    assigned: Sequence[Unit] = (),
    dispatchable: frozenset[UnitStatus] = DISPATCHABLE,
) -> Recommendation:
    """Choose the fastest units covering ``requirements``; explain every other unit.

    ``assigned`` are units already working on this incident: what they carry is subtracted from
    the requirements, and they are neither chosen again nor listed as rejected.
    """
    required = validate_requirements(requirements)
    assigned_ids = {u.id for u in assigned}
    need: dict[Capability, int] = {}
    covered_by_assigned: set[Capability] = set()
    for cap, count in required.items():
        have = sum(1 for u in assigned if cap in u.capabilities)
        if have:
            covered_by_assigned.add(cap)
        if count - have > 0:
            need[cap] = count - have

    pool = [u for u in units if u.id not in assigned_ids]
    rejected: list[Rejection] = []
    eligible: list[tuple[float, Unit]] = []
    for unit in pool:
        time = drive_times.get(unit.id)
        if unit.status not in dispatchable:
            if unit.status is UnitStatus.OUT_OF_SERVICE:
                rejected.append(
                    Rejection(unit.id, unit.callsign, "out_of_service", "out of service", time)
                )
            else:
                where = f" at incident {unit.incident_id}" if unit.incident_id else ""
                rejected.append(
                    Rejection(
                        unit.id,
                        unit.callsign,
                        "busy",
                        f"busy ({unit.status}{where})",
                        time,
                        {"status": str(unit.status), "incident_id": unit.incident_id},
                    )
                )
            continue
        if not unit.capabilities & set(need):
            by_assigned = bool(unit.capabilities & covered_by_assigned)
            rejected.append(
                Rejection(
                    unit.id,
                    unit.callsign,
                    "not_needed",
                    "capability not needed: already covered by assigned units"
                    if by_assigned
                    else "capability not needed",
                    time,
                    {"covered_by_assigned": by_assigned},
                )
            )
            continue
        if unit.origin is None:
            rejected.append(
                Rejection(
                    unit.id, unit.callsign, "no_position", "no position (no GPS fix and no station)"
                )
            )
            continue
        if time is None:
            rejected.append(
                Rejection(
                    unit.id,
                    unit.callsign,
                    "unreachable",
                    "unreachable: no route to the incident",
                    None,
                )
            )
            continue
        eligible.append((time, unit))
    eligible.sort(key=lambda pair: (pair[0], pair[1].id))

    picks: dict[str, dict[Capability, int]] = {}
    last_pick: dict[Capability, tuple[Unit, float]] = {}
    uncovered: dict[Capability, int] = {}
    for cap in sorted(need):
        carriers = [(t, u) for t, u in eligible if cap in u.capabilities]
        for rank, (t, u) in enumerate(carriers[: need[cap]], start=1):
            picks.setdefault(u.id, {})[cap] = rank
            last_pick[cap] = (u, t)
        if len(carriers) < need[cap]:
            uncovered[cap] = need[cap] - len(carriers)

    chosen: list[Choice] = []
    for time, unit in eligible:
        ranks = picks.get(unit.id)
        if ranks:
            covers = tuple(sorted(ranks))
            also = tuple(sorted((unit.capabilities & set(need)) - set(ranks)))
            reason = "; ".join(
                f"{'fastest' if r == 1 else _ordinal(r) + ' fastest'} {c} ({time:.0f} s)"
                for c, r in sorted(ranks.items())
            )
            origin = unit.origin[0] if unit.origin else "unknown"
            chosen.append(
                Choice(unit.id, unit.callsign, time, origin, covers, also, dict(ranks), reason)
            )
            continue
        # Carries a needed capability but lost to faster units on each of them.
        beaten = sorted(c for c in unit.capabilities & set(need))
        cap = beaten[0]
        winner, winner_time = last_pick[cap]
        rejected.append(
            Rejection(
                unit.id,
                unit.callsign,
                "slower",
                f"slower than {winner.callsign} for {cap} ({time:.0f} s vs {winner_time:.0f} s)",
                time,
                {"capability": str(cap), "faster_unit": winner.id, "faster_s": winner_time},
            )
        )
    rejected.sort(key=lambda r: (r.code, r.drive_time_s is None, r.drive_time_s or 0.0, r.unit_id))
    return Recommendation(required, tuple(chosen), tuple(rejected), uncovered)
