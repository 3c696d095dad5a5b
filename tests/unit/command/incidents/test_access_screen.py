"""How a console's events are screened (``IncidentAccess.screen``, no I/O): untouched when no
marking concerns them, withheld when about an incident the reader may not read, a unit's event
without that incident; a marking event applied as it passes, and one it cannot read ignored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from command.events import Event
from command.incidents.access import IncidentAccess
from command.incidents.sensitivity import Reader

AT = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
DISPATCHER = Reader("user", "disp1", frozenset({"dispatcher"}))
NAMED = Reader("user", "li.wei", frozenset({"dispatcher"}))


@pytest.fixture
def access() -> IncidentAccess:
    # The engine is never connected: screening does no I/O.
    return IncidentAccess(
        create_async_engine("postgresql+asyncpg://nobody@localhost/none"),
        lambda: AT,
        ["dispatcher", "leader"],
    )


def _event(seq: int, type_: str, subject: str, subject_id: str, **data: Any) -> Event:
    return Event(seq, AT, type_, subject, subject_id, "user:sup1", data)


def _mark(seq: int, incident_id: int, **data: Any) -> Event:
    return _event(seq, "incident.sensitivity_changed", "incident", str(incident_id), **data)


def test_events_pass_untouched_while_nothing_is_marked(access: IncidentAccess) -> None:
    note = _event(1, "incident.narrative_added", "incident", "7", text="x")
    assert access.screen(note, DISPATCHER) == (note, frozenset())


def test_a_marked_incidents_events_reach_only_the_named(access: IncidentAccess) -> None:
    mark = _mark(1, 7, sensitive=True, reason="vip", roles=[], users=["li.wei"])
    assert access.screen(mark, DISPATCHER) is None  # applied as it passes, then screened
    assert access.screen(mark, NAMED) == (mark, frozenset({7}))
    note = _event(2, "incident.narrative_added", "incident", "7", text="x")
    assert access.screen(note, DISPATCHER) is None
    other = _event(3, "incident.narrative_added", "incident", "8", text="y")
    assert access.screen(other, DISPATCHER) == (other, frozenset())
    busy = _event(4, "unit.status_changed", "unit", "E1", to="dispatched", incident_id=7)
    screened = access.screen(busy, DISPATCHER)
    assert screened is not None
    assert dict(screened[0].data) == {"to": "dispatched", "incident_id": None}
    assert access.screen(busy, NAMED) == (busy, frozenset({7}))
    lifted = _mark(5, 7, sensitive=False)
    assert access.screen(lifted, DISPATCHER) == (lifted, frozenset())
    assert access.screen(note, DISPATCHER) == (note, frozenset())


def test_a_marking_event_it_cannot_read_is_ignored(access: IncidentAccess) -> None:
    broken = _mark(1, 7, sensitive=True)  # no reason
    assert access.screen(broken, DISPATCHER) == (broken, frozenset())
    assert access.book.get(7) is None
