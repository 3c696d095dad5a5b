"""Response levels from a plan's rules, and who may lower a level (pure).

Rules only raise: the level a situation calls for is the most serious level of the rules whose
conditions all hold, and it replaces the incident's level only when it is more serious. A
dispatcher may raise a level; lowering it takes a leader and a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from plans.conditions import ConditionResult, NarrativeText, Situation, evaluate
from plans.errors import Forbidden, InvalidInput
from plans.model import LEVEL_NAMES, Plan

LOWERING_ROLES = frozenset({"leader"})


@dataclass(frozen=True)
class LevelCall:
    """A rule that holds, the level it calls for, and why."""

    level: int
    rule: int
    results: tuple[ConditionResult, ...]

    def reason(self, plan_key: str) -> str:
        held = "; ".join(f"{r.kind} {r.actual} {r.expected}" for r in self.results)
        return f"plan {plan_key} rule {self.rule + 1}: {held} -> level {LEVEL_NAMES[self.level]}"


def level_called_for(plan: Plan, s: Situation) -> LevelCall | None:
    """The most serious level the plan's rules call for in ``s``; None if no rule holds."""
    text = NarrativeText.of(s.narrative)
    best: LevelCall | None = None
    for i, rule in enumerate(plan.level_rules):
        results = tuple(evaluate(c, s, text) for c in rule.when)
        if all(r.held for r in results) and (best is None or rule.level < best.level):
            best = LevelCall(rule.level, i, results)
    return best


def raises(current: int, call: LevelCall | None) -> bool:
    """Does the rule's level replace ``current``? Only when it is more serious (I < IV)."""
    return call is not None and call.level < current


def check_lowering(current: int, target: int, roles: frozenset[str], reason: str) -> None:
    """Refuse lowering (towards IV) unless a leader gives a reason; raising is always allowed."""
    if target <= current:
        return
    if not roles & LOWERING_ROLES:
        raise Forbidden(
            f"lowering the response level from {LEVEL_NAMES[current]} to {LEVEL_NAMES[target]} "
            "is for a leader",
            code="plan.level_lowering_leader_only",
            from_level=LEVEL_NAMES[current],
            to_level=LEVEL_NAMES[target],
        )
    if not reason.strip():
        raise InvalidInput(
            "lowering the response level needs a reason", code="plan.level_lowering_reason"
        )
