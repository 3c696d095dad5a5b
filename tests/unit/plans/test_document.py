"""A plan document is checked field by field and reads back from its canonical form."""

from __future__ import annotations

from typing import Any

import pytest

from plans.document import parse_plan, to_document
from plans.errors import InvalidInput
from plans.model import CountCondition, TypesCondition, WordsCondition
from tests.support.plan_builders import VOCABULARY, document


def test_a_plan_reads_back_from_its_document() -> None:
    plan = parse_plan(document(), VOCABULARY)
    assert plan.key == "collision"
    assert plan.names["zh-CN"] == "交通事故预案"
    assert isinstance(plan.conditions[0], TypesCondition)
    assert plan.stage_resources(1) == {"engine": 1, "ambulance_bls": 1}
    assert plan.stage_resources(2) == {
        "engine": 1,
        "ambulance_bls": 1,
        "heavy_rescue": 1,
        "ambulance_als": 1,
    }
    assert [t.order for t in plan.tasks] == [1, 2]
    again = parse_plan(to_document(plan), VOCABULARY)
    assert again == plan
    assert to_document(again) == to_document(plan)


def test_words_add_to_the_score_without_being_required() -> None:
    conditions = {
        "incident_types": ["traffic_collision"],
        "words": {"any": ["trapped", "被困"]},
        "trapped": {"at_least": 1, "required": False, "weight": 3},
    }
    plan = parse_plan(document(conditions=conditions), VOCABULARY)
    words = plan.conditions[1]
    assert isinstance(words, WordsCondition)
    assert (words.required, words.weight) == (False, 2.0)
    trapped = plan.conditions[2]
    assert isinstance(trapped, CountCondition)
    assert (trapped.required, trapped.weight) == (False, 3.0)


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        (
            {"conditions": {"incident_types": ["fire.volcano"]}},
            "plan.incident_type_unknown",
            "conditions.incident_types.any[0]",
        ),
        (
            {"stages": [{"resources": {"spaceship": 1}}]},
            "plan.capability_unknown",
            "stages[0].resources.spaceship",
        ),
        ({"names": {"en": "only English"}}, "plan.name_missing", "names.zh-CN"),
        (
            {"conditions": {"priority": {"min": 1}}},
            "plan.types_missing",
            "conditions.incident_types",
        ),
        (
            {"conditions": {"incident_types": ["fire"], "priority": {"min": 3, "max": 1}}},
            "plan.range_inverted",
            "conditions.priority.max",
        ),
        (
            {"conditions": {"incident_types": ["fire"], "time": {"hours": "25-3"}}},
            "plan.hours_invalid",
            "conditions.time.hours",
        ),
        (
            {"tasks": [{"names": {"zh-CN": "a", "en": "a"}, "role": "r", "department": "d"}]},
            "plan.field_range",
            "tasks[0].deadline_min",
        ),
        ({"colour": "red"}, "plan.field_unknown", "colour"),
        ({"key": "Not A Key"}, "plan.key_invalid", "key"),
    ],
)
def test_a_wrong_field_is_named(changes: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_plan(document(**changes), VOCABULARY)
    assert caught.value.code == code
    assert caught.value.params["field"] == field
