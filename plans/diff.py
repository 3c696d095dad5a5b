"""The difference between two plan versions, field by field, in words people read (pure).

Both versions are flattened to their documents' paths (``tasks[2].deadline_min``); a change
names the path with its value before and after; an added or removed list item or field has
no value on one side.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plans.document import to_document
from plans.model import Plan


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any

    @property
    def change(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"

    def describe(self) -> str:
        if self.change == "added":
            return f"{self.field}: added {_show(self.after)}"
        if self.change == "removed":
            return f"{self.field}: removed {_show(self.before)}"
        return f"{self.field}: {_show(self.before)} -> {_show(self.after)}"


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values by path; zone geometries stay whole (a redrawn zone is one change)."""
    if isinstance(value, Mapping) and not ("type" in value and "coordinates" in value):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list | Mapping) and not value:
        return {}  # an empty list says nothing its missing items do not
    if isinstance(value, list) and not prefix.endswith(".geometry"):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def diff_documents(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    a, b = flatten(before), flatten(after)
    changes = []
    for path in sorted(set(a) | set(b)):
        old, new = a.get(path), b.get(path)
        if old != new:
            changes.append(FieldChange(path, old, new))
    return changes


def diff_plans(before: Plan, after: Plan) -> list[FieldChange]:
    """What changed from ``before`` to ``after``."""
    return diff_documents(to_document(before), to_document(after))
