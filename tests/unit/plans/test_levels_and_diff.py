"""Level rules raise (never lower); lowering is for a leader with a reason; a version diff
names the fields that changed."""

from __future__ import annotations

import pytest

from plans.diff import diff_plans
from plans.document import parse_plan
from plans.errors import Forbidden, InvalidInput
from plans.levels import check_lowering, level_called_for, raises
from tests.support.plan_builders import VOCABULARY, document, situation

RULES = [
    {"level": "III", "when": {"casualties": {"at_least": 1}}},
    {"level": "II", "when": {"casualties": {"at_least": 4}}},
    {"level": "I", "when": {"casualties": {"at_least": 10}, "hazmat": {}}},
]


def test_the_most_serious_rule_that_holds() -> None:
    plan = parse_plan(document(level_rules=RULES), VOCABULARY)
    assert level_called_for(plan, situation(casualties=0)) is None
    call = level_called_for(plan, situation(casualties=5))
    assert call is not None
    assert call.level == 2
    assert "casualties 5" in call.reason(plan.key)
    assert raises(4, call)
    assert not raises(2, call)
    assert not raises(1, call)
    ten = level_called_for(plan, situation(casualties=12))
    assert ten is not None
    assert ten.level == 2
    assert level_called_for(plan, situation(casualties=12, hazmat=True)).level == 1  # type: ignore[union-attr]


def test_lowering_takes_a_leader_and_a_reason() -> None:
    check_lowering(3, 2, frozenset({"dispatcher"}), "")  # raising: anyone
    with pytest.raises(Forbidden) as caught:
        check_lowering(2, 3, frozenset({"dispatcher"}), "contained")
    assert caught.value.code == "plan.level_lowering_leader_only"
    with pytest.raises(InvalidInput):
        check_lowering(2, 3, frozenset({"leader"}), "  ")
    check_lowering(2, 3, frozenset({"leader"}), "fire contained")


def test_a_diff_names_the_changed_fields() -> None:
    before = parse_plan(document(), VOCABULARY)
    tasks = document()["tasks"]
    tasks[1]["deadline_min"] = 3
    after = parse_plan(document(tasks=tasks, evacuation_m=400, references=None), VOCABULARY)
    changes = {c.field: c for c in diff_plans(before, after)}
    assert set(changes) == {
        "tasks[1].deadline_min",
        "evacuation_m",
        "references[0].title",
        "references[0].url",
    }
    assert changes["tasks[1].deadline_min"].describe() == "tasks[1].deadline_min: 5.0 -> 3.0"
    assert changes["references[0].title"].change == "removed"
