"""Telephony errors: one root, each subclass says what kind of failure it is (see conventions)."""

from __future__ import annotations

from typing import Any, ClassVar


class TelephonyError(Exception):
    """Something about a call, a seat or the switch, said so a person understands it."""

    kind: ClassVar[str] = "invalid"
    #: stable, for consoles to word the error in their language (docs/errors.md)
    code: str = "telephony.invalid"

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.params = params


class InvalidRequest(TelephonyError):
    kind = "invalid"
    code = "telephony.invalid"


class NotFound(TelephonyError):
    kind = "not_found"
    code = "telephony.not_found"


class Conflict(TelephonyError):
    kind = "conflict"
    code = "telephony.conflict"


class SwitchUnavailable(TelephonyError):
    """Asterisk cannot be reached, or did not answer in time."""

    kind = "unavailable"
    code = "telephony.switch_unavailable"


class ActionFailed(TelephonyError):
    """Asterisk refused an action (its own message is kept)."""

    kind = "conflict"
    code = "telephony.action_failed"
