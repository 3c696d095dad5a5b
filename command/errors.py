"""The error hierarchy, and its one translation to HTTP answers.

Every error a person or a device can cause carries a stable ``code`` (``incident.not_open``)
and its ``params`` beside the English message, so that a console can word it in any language;
the codes are listed in ``docs/errors.md``. Packages below ``command`` may not import this
module: their errors have the same shape (``kind``, ``code``, ``message``, ``params``) and are
translated by the same table.
"""

from __future__ import annotations

from typing import Any, ClassVar

HTTP_STATUS: dict[str, int] = {
    "invalid": 422,
    "bad_request": 400,
    "too_slow": 408,
    "too_large": 413,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "locked": 423,
    "too_many": 429,
    "unavailable": 503,
}


class CadError(Exception):
    """Something a person or device caused, or a part that is down: said plainly."""

    kind: ClassVar[str] = "invalid"
    code: str = "invalid"

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.params = params


class InvalidInput(CadError):
    kind = "invalid"
    code = "invalid"


class BadRequest(CadError):
    """A request that is not HTTP as it should be (a length that is not a number)."""

    kind = "bad_request"
    code = "bad_request"


class TooSlow(CadError):
    kind = "too_slow"
    code = "too_slow"


class TooLarge(CadError):
    kind = "too_large"
    code = "too_large"


class Unauthorized(CadError):
    kind = "unauthorized"
    code = "auth.unauthorized"


class Forbidden(CadError):
    kind = "forbidden"
    code = "auth.forbidden"


class NotFound(CadError):
    kind = "not_found"
    code = "not_found"


class Conflict(CadError):
    kind = "conflict"
    code = "conflict"


class Locked(CadError):
    kind = "locked"
    code = "auth.locked"


class TooMany(CadError):
    """Too many attempts: ``retry_after_s`` says when to try again (the Retry-After header)."""

    kind = "too_many"
    code = "too_many"


class Unavailable(CadError):
    kind = "unavailable"
    code = "unavailable"


def status_for(exc: BaseException) -> int | None:
    """HTTP status for an error of ours or of a package below, None for a bug."""
    kind = getattr(type(exc), "kind", None)
    if isinstance(kind, str):
        return HTTP_STATUS.get(kind)
    return None


def error_body(exc: BaseException) -> dict[str, Any]:
    """The JSON body of an error answer: code, message and params (JSON-safe)."""
    params = getattr(exc, "params", {}) or {}
    return {
        "code": str(getattr(exc, "code", "invalid")),
        "message": str(getattr(exc, "message", exc)),
        "params": {k: _plain(v) for k, v in params.items()},
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)
