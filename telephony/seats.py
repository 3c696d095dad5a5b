"""Seats (座席): a call-taker's phone interface in the queues, and its live state.

A seat is identified by its queue interface (``Local/1001@agents``, ``PJSIP/1001``). It is
signed in while it is a member of at least one queue; it may be paused with a reason (break,
paperwork); it rings when a call is offered and is on a call until the call completes.

Pure: every change returns a :class:`SeatChanged` event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

CHANNEL_SUFFIX = re.compile(r"-[0-9a-f]{8}(;[12])?$")


class SeatState(StrEnum):
    SIGNED_OUT = "signed_out"
    AVAILABLE = "available"
    PAUSED = "paused"
    RINGING = "ringing"
    ON_CALL = "on_call"


@dataclass(frozen=True)
class SeatView:
    interface: str
    name: str
    state: str
    queues: tuple[str, ...]
    paused: bool
    pause_reason: str | None
    call: str | None
    ringing_call: str | None
    signed_in_at: datetime | None
    paused_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "interface": self.interface, "name": self.name, "state": self.state,
            "queues": list(self.queues), "paused": self.paused,
            "pause_reason": self.pause_reason, "call": self.call,
            "ringing_call": self.ringing_call,
            "signed_in_at": self.signed_in_at.isoformat() if self.signed_in_at else None,
            "paused_at": self.paused_at.isoformat() if self.paused_at else None,
        }


@dataclass(frozen=True)
class SeatChanged:
    seat: SeatView
    change: str  # signed_in, signed_out, paused, resumed, ringing, on_call, available
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return f"seat.{self.change}"


@dataclass
class Seat:
    interface: str
    name: str
    queues: set[str] = field(default_factory=set)
    paused: bool = False
    pause_reason: str | None = None
    call: str | None = None
    ringing_call: str | None = None
    signed_in_at: datetime | None = None
    paused_at: datetime | None = None
    last_call: str | None = None

    @property
    def state(self) -> SeatState:
        if not self.queues:
            return SeatState.SIGNED_OUT
        if self.call:
            return SeatState.ON_CALL
        if self.ringing_call:
            return SeatState.RINGING
        if self.paused:
            return SeatState.PAUSED
        return SeatState.AVAILABLE

    def view(self) -> SeatView:
        return SeatView(
            interface=self.interface, name=self.name, state=str(self.state),
            queues=tuple(sorted(self.queues)), paused=self.paused,
            pause_reason=self.pause_reason, call=self.call, ringing_call=self.ringing_call,
            signed_in_at=self.signed_in_at, paused_at=self.paused_at,
        )

    def _event(self, change: str, at: datetime, **detail: Any) -> SeatChanged:
        return SeatChanged(self.view(), change, at, detail)

    def join(self, queue: str, at: datetime, paused: bool = False,
             reason: str | None = None) -> list[SeatChanged]:
        if queue in self.queues:
            return []
        first = not self.queues
        self.queues.add(queue)
        out: list[SeatChanged] = []
        if first:
            self.signed_in_at = at
            out.append(self._event("signed_in", at, queue=queue))
        else:
            out.append(self._event("joined", at, queue=queue))
        if paused and not self.paused:
            out.extend(self.pause(reason, at))
        return out

    def leave(self, queue: str, at: datetime) -> list[SeatChanged]:
        if queue not in self.queues:
            return []
        self.queues.discard(queue)
        if self.queues:
            return [self._event("left", at, queue=queue)]
        out: list[SeatChanged] = []
        if self.paused:
            out.extend(self.resume(at))
        self.signed_in_at = None
        out.append(self._event("signed_out", at, queue=queue))
        return out

    def pause(self, reason: str | None, at: datetime) -> list[SeatChanged]:
        if self.paused and self.pause_reason == (reason or None):
            return []
        self.paused = True
        self.pause_reason = reason or None
        self.paused_at = at
        return [self._event("paused", at, reason=self.pause_reason)]

    def resume(self, at: datetime) -> list[SeatChanged]:
        if not self.paused:
            return []
        since = self.paused_at
        self.paused = False
        reason = self.pause_reason
        self.pause_reason = None
        self.paused_at = None
        seconds = (at - since).total_seconds() if since else None
        return [self._event("resumed", at, reason=reason, paused_seconds=seconds)]

    def ring(self, call_id: str, at: datetime) -> list[SeatChanged]:
        if self.ringing_call == call_id:
            return []
        self.ringing_call = call_id
        return [self._event("ringing", at, call=call_id)]

    def stop_ringing(self, call_id: str, at: datetime) -> list[SeatChanged]:
        if self.ringing_call != call_id:
            return []
        self.ringing_call = None
        return [self._event("available" if not self.call else "on_call", at, call=call_id)]

    def connect(self, call_id: str, at: datetime) -> list[SeatChanged]:
        if self.call == call_id:
            return []
        self.ringing_call = None if self.ringing_call == call_id else self.ringing_call
        self.call = call_id
        self.last_call = call_id
        return [self._event("on_call", at, call=call_id)]

    def release(self, call_id: str, at: datetime) -> list[SeatChanged]:
        if self.call != call_id:
            return []
        self.call = None
        return [self._event("available", at, call=call_id)]


def interface_of(channel: str) -> str:
    """The queue interface a channel belongs to: ``Local/1001@agents-0000000a;1`` ->
    ``Local/1001@agents``; ``PJSIP/1001-00000003`` -> ``PJSIP/1001``."""
    return CHANNEL_SUFFIX.sub("", channel)
