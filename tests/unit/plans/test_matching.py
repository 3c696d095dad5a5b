"""Plans that apply are ranked with an explanation per condition; the index agrees with
evaluating every plan."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from command.bench.plans import generated_document
from command.bench.plans import situation as bench_situation
from plans.document import parse_plan
from plans.matching import CompiledPlan, PlanIndex, match_all
from tests.support.plan_builders import (
    VADUZ_SQUARE,
    VOCABULARY,
    document,
    situation,
)


def _compiled(version_id: int, **changes: object) -> CompiledPlan:
    return CompiledPlan.of(version_id, 1, parse_plan(document(**changes), VOCABULARY))


def test_ranked_with_explanations() -> None:
    general = _compiled(1, key="collision")
    entrapment = _compiled(
        2,
        key="entrapment",
        conditions={
            "incident_types": ["traffic_collision"],
            "words": {"any": ["trapped", "被困"], "weight": 3},
        },
    )
    in_vaduz = _compiled(
        3,
        key="vaduz_centre",
        scope={"jurisdictions": ["Vaduz"], "zones": [{"name": "centre", "geometry": VADUZ_SQUARE}]},
    )
    medical = _compiled(4, key="medical", conditions={"incident_types": ["medical"]})
    index = PlanIndex.of([general, entrapment, in_vaduz, medical])

    before = index.match(situation(narrative="two cars collided"))
    assert [m.key for m in before] == ["vaduz_centre", "collision", "entrapment"]
    words = next(r for r in before[2].results if r.kind == "words")
    assert (words.held, words.required, words.actual) == (False, False, [])
    zone = next(r for r in before[0].results if r.kind == "scope.zones")
    assert (zone.held, zone.actual) == (True, ["centre"])

    after = index.match(situation(narrative="two cars collided, the driver is trapped"))
    assert after[0].key == "entrapment"
    assert after[0].score == 4.0

    outside = index.match(situation(lon=9.6, lat=47.2, jurisdiction="Schaan"))
    assert [m.key for m in outside] == ["collision", "entrapment"]
    low_priority = index.match(situation(priority=4))
    assert [m.key for m in low_priority] == ["entrapment"]


def test_the_index_agrees_with_evaluating_every_plan() -> None:
    rng = random.Random(7)
    types = sorted(VOCABULARY.incident_types)
    plans = [
        CompiledPlan.of(n + 1, 1, parse_plan(generated_document(rng, n, types), VOCABULARY))
        for n in range(600)
    ]
    index = PlanIndex.of(plans)
    assert index.size == len(plans)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    applied = 0
    for _ in range(300):
        s = bench_situation(rng, types, start)
        ours = index.match(s)
        assert ours == match_all(plans, s)
        assert len(index.candidates(s)) < len(plans) / 3
        applied += len(ours)
    assert applied > 300  # the situations do match plans: the comparison says something
