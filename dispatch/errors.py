"""Errors of the dispatch package; ``command.errors.status_for`` maps their ``kind`` to HTTP."""

from __future__ import annotations

from typing import Any, ClassVar


class DispatchError(Exception):
    """Something wrong with a unit, a station or an assignment, said plainly."""

    kind: ClassVar[str] = "invalid"
    #: stable, for consoles to word the error in their language (docs/errors.md)
    code: str = "dispatch.invalid"

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.params = params


class InvalidInput(DispatchError):
    """Input that cannot be used (an unknown capability, a negative crew)."""

    kind = "invalid"
    code = "dispatch.invalid"


class NotFound(DispatchError):
    """A unit, station or assignment that does not exist."""

    kind = "not_found"
    code = "dispatch.not_found"


class Conflict(DispatchError):
    """The state does not allow it, or someone else changed it first."""

    kind = "conflict"
    code = "dispatch.conflict"


class InvalidTransition(Conflict):
    """A unit status change that the status machine does not allow; ``code`` says which rule
    refused it."""

    code = "unit.transition_refused"

    def __init__(
        self,
        unit_id: str,
        from_status: str,
        to_status: str,
        why: str = "",
        *,
        code: str | None = None,
        **params: Any,
    ) -> None:
        message = f"unit {unit_id} cannot go from {from_status} to {to_status}"
        if why:
            message += f": {why}"
        super().__init__(
            message,
            code=code,
            unit_id=unit_id,
            from_status=str(from_status),
            to_status=str(to_status),
            **params,
        )
        self.from_status = from_status
        self.to_status = to_status
