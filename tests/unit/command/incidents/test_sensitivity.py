"""Who may read a sensitive incident, what a marking may name, which incidents an event is
about, and the book that screens events: a late or old event never undoes a newer marking."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from command.errors import InvalidInput
from command.incidents.sensitivity import (
    Marking,
    MarkingBook,
    Reader,
    Reason,
    check_marking,
    incidents_of,
    may_read,
    parse_reason,
    redacted,
)

AT = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ROLES = ("call_taker", "dispatcher", "field_unit", "leader", "supervisor", "admin")
MARKING = Marking(7, Reason.VIP, frozenset({"leader"}), frozenset({"li.wei"}), "user:sup1", AT)


def _reader(name: str, *roles: str, kind: str = "user") -> Reader:
    return Reader(kind, name, frozenset(roles))


def test_an_unmarked_incident_is_open_to_everyone() -> None:
    assert may_read(_reader("anyone", "call_taker"), None)


def test_a_marking_admits_the_users_and_roles_it_names_and_nobody_by_rank() -> None:
    assert may_read(_reader("li.wei", "dispatcher"), MARKING)
    assert may_read(_reader("zhang", "leader"), MARKING)
    assert not may_read(_reader("zhang", "dispatcher"), MARKING)
    assert not may_read(_reader("root", "admin"), MARKING)
    assert not may_read(_reader("boss", "supervisor"), MARKING)
    # a device that happens to carry a named user's name is not that user
    assert not may_read(_reader("li.wei", "field_unit", kind="device"), MARKING)


def test_a_marking_names_known_roles_and_somebody() -> None:
    assert check_marking([" leader ", ""], ["li.wei"], ROLES) == (
        frozenset({"leader"}),
        frozenset({"li.wei"}),
    )
    with pytest.raises(InvalidInput) as unknown:
        check_marking(["chief"], [], ROLES)
    assert unknown.value.code == "sensitivity.role_unknown"
    assert unknown.value.params["unknown"] == ["chief"]
    with pytest.raises(InvalidInput) as nobody:
        check_marking([" "], [], ROLES)
    assert nobody.value.code == "sensitivity.nobody_named"
    with pytest.raises(InvalidInput) as many:
        check_marking([], [f"u{i}" for i in range(101)], ROLES)
    assert many.value.code == "sensitivity.too_many_named"


def test_the_reason_is_one_of_four() -> None:
    assert parse_reason("domestic_violence") is Reason.DOMESTIC_VIOLENCE
    with pytest.raises(InvalidInput) as bad:
        parse_reason("celebrity")
    assert bad.value.code == "sensitivity.reason_unknown"


def test_an_event_is_about_its_incident_and_the_incidents_its_data_names() -> None:
    assert incidents_of("incident", "7", {"number": "2026-000007"}) == {7}
    assert incidents_of("unit", "E1", {"incident_id": 7}) == {7}
    assert incidents_of("unit", "E1", {"from_incident": 7, "to_incident": 8}) == {7, 8}
    assert incidents_of("unit", "E1", {"incident_id": None, "zone_id": 3}) == set()
    assert incidents_of("call", "c1", {}) == set()


def _marked(users: list[str]) -> dict[str, object]:
    return {"sensitive": True, "reason": "vip", "roles": [], "users": users}


def test_the_book_sorts_incidents_by_the_marking_in_force() -> None:
    book = MarkingBook()
    book.load(10, [MARKING])
    assert book.sort({7, 8}, _reader("li.wei")) == ({7}, set())
    assert book.sort({7, 8}, _reader("zhang", "dispatcher")) == (set(), {7})
    book.apply(11, 7, {"sensitive": False}, "user:sup1", AT)
    assert book.sort({7}, _reader("zhang", "dispatcher")) == (set(), set())


def test_a_units_event_loses_only_the_hidden_incident() -> None:
    data = {"from": "dispatched", "to": "en_route", "incident_id": 7, "reason": ""}
    assert redacted(data, {7}) == {**data, "incident_id": None}
    assert redacted({"from_incident": 7, "to_incident": 8}, {7}) == {
        "from_incident": None,
        "to_incident": 8,
    }


def test_an_old_event_does_not_bring_back_a_lifted_marking() -> None:
    book = MarkingBook()
    book.apply(5, 7, _marked(["li.wei"]), "user:sup1", AT)
    book.apply(9, 7, {"sensitive": False}, "user:sup1", AT)
    book.apply(5, 7, _marked(["li.wei"]), "user:sup1", AT)  # a console catching up
    assert book.get(7) is None
    # what was loaded already holds every event up to its baseline
    book.load(20, [])
    book.apply(15, 8, _marked(["zhang"]), "user:sup1", AT)
    assert book.get(8) is None


def test_a_load_does_not_undo_a_newer_event() -> None:
    book = MarkingBook()
    book.apply(30, 7, _marked(["zhang"]), "user:sup1", AT)
    book.load(20, [MARKING])  # read before that event committed
    marking = book.get(7)
    assert marking is not None
    assert marking.users == frozenset({"zhang"})
    book.load(40, [])
    assert book.get(7) is None
