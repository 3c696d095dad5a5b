"""Telephony errors: one root, each subclass says what kind of failure it is (see conventions)."""

from __future__ import annotations

from typing import Any, ClassVar


class TelephonyError(Exception):
    """Something about a call, a seat or the switch, said so a person understands it."""

    kind: ClassVar[str] = "invalid"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidRequest(TelephonyError):
    kind = "invalid"


class NotFound(TelephonyError):
    kind = "not_found"


class Conflict(TelephonyError):
    kind = "conflict"


class SwitchUnavailable(TelephonyError):
    """Asterisk cannot be reached, or did not answer in time."""

    kind = "unavailable"


class ActionFailed(TelephonyError):
    """Asterisk refused an action (its own message is kept)."""

    kind = "conflict"
