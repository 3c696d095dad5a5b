"""Calls (and text/alarm reports) as a state machine, with the time of every transition.

States: ``queued -> offered -> answered -> completed | transferred -> ended``, and
``queued | offered -> abandoned -> ended``. An offer that rings out goes back to ``queued``; a
seat may grab a queued or offered call (``answered`` directly); a call lost while we were
disconnected may go straight to ``ended``. The timestamps are the NENA answer-time figures:
arrival (``queued_at``), ``offered_at``, ``answered_at``; hold and talk times keep Asterisk's own
figures (``HoldTime``, ``TalkTime``) when it gives them.

Pure: no I/O. Every change returns a :class:`CallTransitioned` event for the adapters.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from telephony.errors import Conflict


class CallState(StrEnum):
    QUEUED = "queued"
    OFFERED = "offered"
    ANSWERED = "answered"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    TRANSFERRED = "transferred"
    ENDED = "ended"


class CallKind(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    ALARM = "alarm"
    OUTBOUND = "outbound"  # a call back from a seat


S = CallState
ALLOWED: dict[CallState, frozenset[CallState]] = {
    S.QUEUED: frozenset({S.OFFERED, S.ANSWERED, S.ABANDONED, S.TRANSFERRED, S.ENDED}),
    S.OFFERED: frozenset({S.QUEUED, S.OFFERED, S.ANSWERED, S.ABANDONED, S.TRANSFERRED, S.ENDED}),
    S.ANSWERED: frozenset({S.COMPLETED, S.TRANSFERRED, S.ENDED}),
    S.COMPLETED: frozenset({S.ENDED}),
    S.ABANDONED: frozenset({S.ENDED}),
    S.TRANSFERRED: frozenset({S.ENDED}),
    S.ENDED: frozenset(),
}
LIVE = frozenset({S.QUEUED, S.OFFERED, S.ANSWERED})


@dataclass(frozen=True)
class CallView:
    """A call as it stands (what the event log and the consoles get)."""

    id: str
    kind: str
    state: str
    queue: str
    number: str | None
    name: str | None
    seat: str | None
    channel: str | None
    linkedid: str | None
    agent_channel: str | None
    position: int | None
    queued_at: datetime
    offered_at: datetime | None
    answered_at: datetime | None
    completed_at: datetime | None
    abandoned_at: datetime | None
    transferred_at: datetime | None
    ended_at: datetime | None
    hold_time: float | None
    talk_time: float | None
    ring_time: float | None
    hangup_cause: int | None
    complete_reason: str | None
    transfer_target: str | None
    recovered: bool
    location: tuple[float, float, float | None] | None = None  # lat, lon, accuracy (m)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in _VIEW_FIELDS:
            value = getattr(self, key)
            out[key] = value.isoformat() if isinstance(value, datetime) else value
        return out


_VIEW_FIELDS = tuple(f.name for f in fields(CallView))


@dataclass(frozen=True)
class CallTransitioned:
    """A call moved from one state to another (``from_state`` None: it was just created)."""

    call: CallView
    from_state: str | None
    to_state: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return f"call.{self.to_state}"


@dataclass(frozen=True)
class CallUpdated:
    """A fact about a call that is not a transition (talk time after a transfer, recording)."""

    call: CallView
    at: datetime
    change: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return f"call.{self.change}"


@dataclass
class Call:
    id: str
    queue: str
    queued_at: datetime
    kind: CallKind = CallKind.VOICE
    number: str | None = None
    name: str | None = None
    channel: str | None = None
    linkedid: str | None = None
    state: CallState = CallState.QUEUED
    seat: str | None = None
    agent_channel: str | None = None
    position: int | None = None
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    completed_at: datetime | None = None
    abandoned_at: datetime | None = None
    transferred_at: datetime | None = None
    ended_at: datetime | None = None
    hold_time: float | None = None
    talk_time: float | None = None
    ring_time: float | None = None
    hangup_cause: int | None = None
    complete_reason: str | None = None
    transfer_target: str | None = None
    recovered: bool = False
    location: tuple[float, float, float | None] | None = None
    hangup_at: datetime | None = None  # caller gone while answered; waits for AgentComplete
    place: tuple[str, str] | None = None  # (context, exten) where the caller joined the queue
    taken_over_by: str | None = None  # a seat the caller was redirected to by someone else

    @classmethod
    def arrive(cls, call_id: str, queue: str, at: datetime,
               **fields: Any) -> tuple[Call, CallTransitioned]:
        call = cls(id=call_id, queue=queue, queued_at=at, **fields)
        return call, CallTransitioned(call.view(), None, CallState.QUEUED, at, {})

    def view(self) -> CallView:
        return CallView(
            id=self.id, kind=str(self.kind), state=str(self.state), queue=self.queue,
            number=self.number, name=self.name, seat=self.seat, channel=self.channel,
            linkedid=self.linkedid, agent_channel=self.agent_channel, position=self.position,
            queued_at=self.queued_at, offered_at=self.offered_at, answered_at=self.answered_at,
            completed_at=self.completed_at, abandoned_at=self.abandoned_at,
            transferred_at=self.transferred_at, ended_at=self.ended_at,
            hold_time=self.hold_time, talk_time=self.talk_time, ring_time=self.ring_time,
            hangup_cause=self.hangup_cause, complete_reason=self.complete_reason,
            transfer_target=self.transfer_target, recovered=self.recovered,
            location=self.location,
        )

    @property
    def live(self) -> bool:
        return self.state in LIVE

    def can(self, to: CallState) -> bool:
        return to in ALLOWED[self.state]

    def _move(self, to: CallState, at: datetime, **detail: Any) -> CallTransitioned:
        if not self.can(to):
            raise Conflict(f"call {self.id} is {self.state}; it cannot become {to}",
                           code="call.transition_refused", call=self.id,
                           state=str(self.state), wanted=str(to))
        before = self.state
        self.state = to
        return CallTransitioned(self.view(), str(before), str(to), at, detail)

    def offer(self, seat: str, at: datetime, agent_channel: str | None = None) -> CallTransitioned:
        self.seat = seat
        self.offered_at = at
        if agent_channel:
            self.agent_channel = agent_channel
        return self._move(CallState.OFFERED, at, seat=seat)

    def ring_out(self, at: datetime) -> CallTransitioned:
        seat = self.seat
        self.seat = None
        self.agent_channel = None
        return self._move(CallState.QUEUED, at, seat=seat, reason="no_answer")

    def answer(self, seat: str, at: datetime, hold_time: float | None = None,
               ring_time: float | None = None, agent_channel: str | None = None,
               **detail: Any) -> CallTransitioned:
        self.seat = seat
        self.answered_at = at
        self.position = None
        if agent_channel:
            self.agent_channel = agent_channel
        if detail.get("estimated"):
            # answered while we were not looking: the time is ours, not Asterisk's
            self.hold_time = hold_time
        else:
            self.hold_time = hold_time if hold_time is not None else _seconds(self.queued_at, at)
        self.ring_time = ring_time
        return self._move(CallState.ANSWERED, at, seat=seat, hold_time=self.hold_time, **detail)

    def complete(self, at: datetime, reason: str, talk_time: float | None = None,
                 hold_time: float | None = None, **detail: Any) -> CallTransitioned:
        self.completed_at = at
        self.complete_reason = reason
        if hold_time is not None:
            self.hold_time = hold_time
        start = self.answered_at or at
        if detail.get("estimated"):
            self.talk_time = talk_time  # ended while we were not looking: unknown
        else:
            self.talk_time = talk_time if talk_time is not None else _seconds(start, at)
        return self._move(CallState.COMPLETED, at, reason=reason, talk_time=self.talk_time,
                          **detail)

    def abandon(self, at: datetime, hold_time: float | None = None,
                position: int | None = None) -> CallTransitioned:
        self.abandoned_at = at
        self.hold_time = hold_time if hold_time is not None else _seconds(self.queued_at, at)
        seat = self.seat
        self.seat = None
        return self._move(CallState.ABANDONED, at, hold_time=self.hold_time, position=position,
                          offered_to=seat)

    def transfer(self, at: datetime, target: str, how: str, **detail: Any) -> CallTransitioned:
        self.transferred_at = at
        self.transfer_target = target
        if self.answered_at is not None and self.talk_time is None:
            # the seat's part of the call ends here: a later AgentComplete's TalkTime also
            # covers whoever took the call over
            self.talk_time = _seconds(self.answered_at, at)
        return self._move(CallState.TRANSFERRED, at, target=target, how=how,
                          seat=self.seat, talk_time=self.talk_time, **detail)

    def end(self, at: datetime, cause: int | None = None, **detail: Any) -> CallTransitioned:
        self.ended_at = at
        if cause is not None:
            self.hangup_cause = cause
        self.hangup_at = None
        return self._move(CallState.ENDED, at, cause=cause, **detail)

    def note(self, at: datetime, change: str, **detail: Any) -> CallUpdated:
        return CallUpdated(self.view(), at, change, detail)


def _seconds(start: datetime, end: datetime) -> float:
    return round(max((end - start).total_seconds(), 0.0), 3)


def copy(call: Call) -> Call:
    return replace(call)


@dataclass(frozen=True)
class Report:
    """A text message or an automatic alarm, taken in as a queued item of its kind."""

    kind: CallKind
    sender: str
    body: str
    queue: str
    external_id: str | None = None
    source: str | None = None
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    payload: dict[str, Any] | None = None
