"""Errors of the plans package; ``command.errors.status_for`` maps their ``kind`` to HTTP."""

from __future__ import annotations

from typing import Any, ClassVar


class PlanError(Exception):
    """Something wrong with a contingency plan, its version or its activation, said plainly."""

    kind: ClassVar[str] = "invalid"
    #: stable, for consoles to word the error in their language (docs/errors.md)
    code: str = "plan.invalid"

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.params = params


class InvalidInput(PlanError):
    """A plan or a request about one that cannot be used (an unknown capability, a bad zone)."""

    kind = "invalid"
    code = "plan.invalid"


class NotFound(PlanError):
    """A plan, version, activation or task that does not exist."""

    kind = "not_found"
    code = "plan.not_found"


class Conflict(PlanError):
    """The plan's state does not allow it (approving a retired version, activating twice)."""

    kind = "conflict"
    code = "plan.conflict"


class Forbidden(PlanError):
    """Allowed to someone else (lowering a response level is for a leader)."""

    kind = "forbidden"
    code = "plan.forbidden"


class FieldInvalid(InvalidInput):
    """One field of a plan document that cannot be used, named by its path
    (``conditions.priority.max``); the YAML reader adds its line."""

    code = "plan.field_invalid"

    def __init__(self, field: str, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(f"{field}: {message}", code=code, field=field, **params)
