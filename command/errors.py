"""The error hierarchy, and its one translation to HTTP answers.

Packages below ``command`` may not import it; their errors carry a ``kind`` class attribute
(``invalid``, ``not_found``, ``conflict``, ``forbidden``, ``unauthorized``, ``unavailable``)
and are translated by the same table.
"""

from __future__ import annotations

from typing import Any, ClassVar

HTTP_STATUS: dict[str, int] = {
    "invalid": 422,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "locked": 423,
    "unavailable": 503,
}


class CadError(Exception):
    """Something a person or device caused, or a part that is down: said plainly."""

    kind: ClassVar[str] = "invalid"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(CadError):
    kind = "invalid"


class Unauthorized(CadError):
    kind = "unauthorized"


class Forbidden(CadError):
    kind = "forbidden"


class NotFound(CadError):
    kind = "not_found"


class Conflict(CadError):
    kind = "conflict"


class Locked(CadError):
    kind = "locked"


class Unavailable(CadError):
    kind = "unavailable"


def status_for(exc: BaseException) -> int | None:
    """HTTP status for an error of ours or of a package below, None for a bug."""
    kind = getattr(type(exc), "kind", None)
    if isinstance(kind, str):
        return HTTP_STATUS.get(kind)
    return None
