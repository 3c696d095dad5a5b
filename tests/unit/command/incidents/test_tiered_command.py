"""Tiered command (指挥分级协同): who may direct an incident owned at which level."""

from __future__ import annotations

import pytest

from command.errors import Forbidden
from command.incidents.domain import CommandLevel, check_direct, may_direct

CITY, DISTRICT, DEPARTMENT = CommandLevel.CITY, CommandLevel.DISTRICT, CommandLevel.DEPARTMENT


@pytest.mark.parametrize(
    ("user", "incident", "allowed"),
    [
        (CITY, CITY, True),
        (CITY, DISTRICT, True),
        (CITY, DEPARTMENT, True),
        (DISTRICT, CITY, False),
        (DISTRICT, DISTRICT, True),
        (DISTRICT, DEPARTMENT, True),
        (DEPARTMENT, CITY, False),
        (DEPARTMENT, DISTRICT, False),
        (DEPARTMENT, DEPARTMENT, True),
    ],
)
def test_a_level_directs_its_own_incidents_and_those_below(
    user: CommandLevel, incident: CommandLevel, allowed: bool
) -> None:
    assert may_direct(user, incident) is allowed


@pytest.mark.parametrize("incident", list(CommandLevel))
def test_no_level_is_the_top_level(incident: CommandLevel) -> None:
    assert may_direct(None, incident)
    check_direct("2026-000001", None, incident)


def test_refusal_says_who_directs_and_where_you_act() -> None:
    with pytest.raises(Forbidden) as refused:
        check_direct("2026-000012", DISTRICT, CITY)
    assert refused.value.message == (
        "incident 2026-000012 is directed at city level; you act at district level"
    )
    assert refused.value.code == "incident.directed_above_you"
    assert refused.value.params == {
        "number": "2026-000012",
        "incident_level": "city",
        "user_level": "district",
    }
    check_direct("2026-000012", DISTRICT, DEPARTMENT)
