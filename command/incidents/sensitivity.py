"""Sensitive incidents (pure): the marking, who may read a marked incident, and which incidents
an event is about.

An incident about a VIP, a domestic violence victim or an officer can be marked sensitive: then
only the roles and the users the marking names may read it (need-to-know). Nobody reads it by
rank alone: an admin runs accounts, not incidents, and is a reader only when named. Supervisors
manage markings (they mark, change and unmark any incident) but read a marked incident only
when the marking names them or their role: managing who may know is not knowing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from command.errors import Conflict, InvalidInput

MAX_NAMED = 100  # roles and users together: a marking names a few people, not a directory


class Reason(StrEnum):
    """Why an incident is sensitive."""

    VIP = "vip"
    DOMESTIC_VIOLENCE = "domestic_violence"
    OFFICER_INVOLVED = "officer_involved"
    OTHER = "other"


def parse_reason(value: str) -> Reason:
    try:
        return Reason(value.strip())
    except ValueError:
        raise InvalidInput(
            f"sensitivity reason {value!r} is not one of {', '.join(Reason)}",
            code="sensitivity.reason_unknown",
            reason=value,
            known=list(Reason),
        ) from None


@dataclass(frozen=True)
class Reader:
    """Who reads: ``kind`` is user or device, ``name`` the user name or the device's name."""

    kind: str
    name: str
    roles: frozenset[str]

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class Marking:
    """A sensitive incident's marking: why, and the roles and users that may read it."""

    incident_id: int
    reason: Reason
    roles: frozenset[str]
    users: frozenset[str]
    marked_by: str
    marked_at: datetime

    def as_event(self) -> dict[str, Any]:
        """The event's data: the whole marking, so that applying it twice changes nothing."""
        return {
            "sensitive": True,
            "reason": self.reason.value,
            "roles": sorted(self.roles),
            "users": sorted(self.users),
        }


def may_read(reader: Reader, marking: Marking | None) -> bool:
    """An unmarked incident is open to every console; a marked one to the roles and users named.

    Users are named by user name: a device is never a named user (a unit's terminal reads its
    own assignment by need-to-know, not by this rule).
    """
    if marking is None:
        return True
    if reader.kind == "user" and reader.name in marking.users:
        return True
    return bool(reader.roles & marking.roles)


def check_marking(
    roles: Iterable[str], users: Iterable[str], known_roles: Iterable[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """The roles and user names of a new marking, cleaned; refused when a role is unknown or
    nobody at all would be left to read the incident. Whether the users exist is the store's."""
    named_roles = frozenset(r.strip() for r in roles if r.strip())
    named_users = frozenset(u.strip() for u in users if u.strip())
    known = sorted(known_roles)
    unknown = sorted(named_roles - set(known))
    if unknown:
        raise InvalidInput(
            f"unknown role {', '.join(unknown)}; roles are: {', '.join(known)}",
            code="sensitivity.role_unknown",
            unknown=unknown,
            known=known,
        )
    if not named_roles and not named_users:
        raise InvalidInput(
            "a sensitive incident must name at least one role or user that may read it",
            code="sensitivity.nobody_named",
        )
    if len(named_roles) + len(named_users) > MAX_NAMED:
        raise InvalidInput(
            f"a marking names at most {MAX_NAMED} roles and users together",
            code="sensitivity.too_many_named",
            max=MAX_NAMED,
            count=len(named_roles) + len(named_users),
        )
    return named_roles, named_users


def check_merge(survivor: str, absorbed: str, kept: Marking | None, merged: Marking | None) -> None:
    """Merging moves calls and units to the survivor, whose readers then see them: only
    incidents open to the same readers merge (both unmarked, or marked for the same roles and
    users)."""
    readers = [None if m is None else (m.roles, m.users) for m in (kept, merged)]
    if readers[0] != readers[1]:
        raise Conflict(
            f"incidents {survivor} and {absorbed} are not open to the same readers; give them "
            "the same sensitivity marking first",
            code="sensitivity.merge_differs",
            number=survivor,
            absorbed=absorbed,
        )


# Where events name incidents other than as their subject (units, merges).
_INCIDENT_KEYS = ("incident_id", "from_incident", "to_incident", "absorbed_id")


def redacted(data: Mapping[str, Any], hidden: set[int]) -> dict[str, Any]:
    """An event's data without the incidents in ``hidden``: what a unit's event may tell a
    console that may not read the incident the unit works on (the unit is shared, its
    incident is not)."""
    return {
        k: None if k in _INCIDENT_KEYS and v in hidden and not isinstance(v, bool) else v
        for k, v in data.items()
    }


def incidents_of(subject_type: str, subject_id: str, data: Mapping[str, Any]) -> set[int]:
    """The incidents an event is about: its subject, and the incidents its data names."""
    found: set[int] = set()
    if subject_type == "incident" and subject_id.isdigit():
        found.add(int(subject_id))
    for key in _INCIDENT_KEYS:
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            found.add(value)
    return found


class MarkingBook:
    """Every marking in force, in memory, for screening events as they fan out: a console's
    stream must not wait on the database for each event, and most events are about no marked
    incident at all (one set look-up each).

    Filled from the database at start-up and kept current by the ``incident.sensitivity_changed``
    events, which carry the whole marking. An event changes the book only when it is newer than
    what the book holds for that incident (by sequence number), so a console catching up on old
    events cannot bring back a marking that was lifted since.
    """

    def __init__(self) -> None:
        self._markings: dict[int, Marking] = {}
        self._applied: dict[int, int] = {}  # incident id -> seq of the event last applied
        self._baseline = 0  # events up to here are in what was loaded

    def __len__(self) -> int:
        return len(self._markings)

    def get(self, incident_id: int) -> Marking | None:
        return self._markings.get(incident_id)

    def load(self, baseline: int, markings: Iterable[Marking]) -> None:
        """What the database holds after every event up to ``baseline``."""
        self._baseline = max(self._baseline, baseline)
        loaded = {m.incident_id: m for m in markings}
        for incident_id in set(self._markings) | set(loaded):
            if self._applied.get(incident_id, 0) > baseline:
                continue  # an event newer than the load already said
            if incident_id in loaded:
                self._markings[incident_id] = loaded[incident_id]
            else:
                self._markings.pop(incident_id, None)

    def apply(
        self, seq: int, incident_id: int, data: Mapping[str, Any], actor: str, at: datetime
    ) -> None:
        """A ``incident.sensitivity_changed`` event numbered ``seq``."""
        if seq <= max(self._baseline, self._applied.get(incident_id, 0)):
            return
        self._applied[incident_id] = seq
        if not data.get("sensitive"):
            self._markings.pop(incident_id, None)
            return
        self._markings[incident_id] = Marking(
            incident_id,
            Reason(str(data["reason"])),
            frozenset(data.get("roles", ())),
            frozenset(data.get("users", ())),
            actor,
            at,
        )

    def sort(self, ids: Iterable[int], reader: Reader) -> tuple[set[int], set[int]]:
        """Of the incidents ``ids``: the marked ones ``reader`` may read, and those it may not."""
        marked: set[int] = set()
        hidden: set[int] = set()
        for incident_id in ids:
            marking = self._markings.get(incident_id)
            if marking is not None:
                (marked if may_read(reader, marking) else hidden).add(incident_id)
        return marked, hidden
