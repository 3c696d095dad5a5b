"""The life of a plan version: draft -> in review -> approved -> retired (pure).

Only an approved version matches incidents; approving a version retires the one approved
before it. Every version is kept; an approved or retired version is never edited (a change is
a new version).
"""

from __future__ import annotations

from plans.errors import Conflict
from plans.model import PlanStatus

#: action -> (statuses it starts from, status it leads to)
ACTIONS: dict[str, tuple[frozenset[PlanStatus], PlanStatus]] = {
    "submit": (frozenset({PlanStatus.DRAFT}), PlanStatus.IN_REVIEW),
    "send_back": (frozenset({PlanStatus.IN_REVIEW}), PlanStatus.DRAFT),
    "approve": (frozenset({PlanStatus.IN_REVIEW}), PlanStatus.APPROVED),
    "retire": (
        frozenset({PlanStatus.DRAFT, PlanStatus.IN_REVIEW, PlanStatus.APPROVED}),
        PlanStatus.RETIRED,
    ),
}


def next_status(key: str, version: int, current: PlanStatus, action: str) -> PlanStatus:
    """The status ``action`` leads to from ``current``, or ``Conflict`` saying why not."""
    if action not in ACTIONS:
        raise Conflict(
            f"unknown action {action!r} on a plan version; known: {', '.join(ACTIONS)}",
            code="plan.action_unknown",
            action=action,
            known=list(ACTIONS),
        )
    starts, to = ACTIONS[action]
    if current not in starts:
        raise Conflict(
            f"plan {key} version {version} is {current}; {action} needs it "
            f"{' or '.join(sorted(starts))}",
            code="plan.version_status_refused",
            key=key,
            version=version,
            status=current.value,
            action=action,
            allowed=sorted(starts),
        )
    return to
