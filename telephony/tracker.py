"""From AMI messages to calls and seats (pure: messages in, domain events out).

A call is keyed by the ``Uniqueid`` of the caller channel that sits in the queue (the ``;2`` half
of the Local pair in the fixtures), and remembers its ``Linkedid``. Real Asterisk quirks handled
here, all visible in the transcripts:

- ``AgentComplete`` may come *after* the caller's ``Hangup`` and then carries no channel fields
  at all (busy transcript, 7.017 s): it is matched to the seat's current call by ``Interface``,
  and the call's end waits for it (or for ``settle`` to give up after a grace period);
- ``QueueCallerAbandon`` comes after the ``;1`` half hung up and before the queue channel does;
- list responses after a (re)connect (``QueueStatus`` + ``CoreShowChannels``) are the truth:
  :meth:`Tracker.reconcile` turns the difference into ordinary transitions.

A device-based caller location can come in a channel variable set by the dialplan before
``Queue()``: ``CALLER_LOCATION=<lat>,<lon>[,<accuracy m>]`` (a ``VarSet`` event); it is kept
by ``Linkedid`` until the call joins the queue.

Events with missing or unusable fields are logged and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from telephony.ami_protocol import AmiMessage, caller_id, number
from telephony.calls import Call, CallKind, CallState, CallTransitioned, CallUpdated
from telephony.phone import normal_number, normal_or_none
from telephony.seats import Seat, SeatChanged, interface_of

log = logging.getLogger(__name__)

DomainEvent = CallTransitioned | CallUpdated | SeatChanged
LOCATION_VARIABLE = "CALLER_LOCATION"
HUNG_UP_BY = {"agent": "seat", "caller": "caller"}
MONITOR_VARIABLE = "MIXMONITOR_FILENAME"
CALLBACK_QUEUE = "callback"
# a call back's outcome from the hang-up cause of its outbound leg (Q.850)
CALLBACK_OUTCOMES = {0: "completed", 16: "completed", 17: "busy", 18: "no_answer",
                     19: "no_answer", 21: "rejected", 1: "invalid_number",
                     28: "invalid_number", 34: "failed", 38: "failed", 41: "failed"}


def spy_mode(options: str) -> str:
    """ChanSpy's options: ``B`` barges (speaks to both), ``w`` whispers (to the seat only)."""
    if "B" in options:
        return "barge"
    return "whisper" if "w" in options else "listen"
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Snapshot:
    """What Asterisk says is live, from ``QueueStatus`` and ``CoreShowChannels`` items."""

    queue_items: list[AmiMessage] = field(default_factory=list)
    channels: list[AmiMessage] = field(default_factory=list)


class Tracker:
    """Live calls and seats, fed one AMI message at a time."""

    def __init__(self, queues: Iterable[str] | None = None, clock: Clock = utcnow,
                 settle_seconds: float = 5.0) -> None:
        self.queues = set(queues) if queues else None
        self.clock = clock
        self.settle = timedelta(seconds=settle_seconds)
        self.calls: dict[str, Call] = {}
        self.seats: dict[str, Seat] = {}
        self._by_linkedid: dict[str, str] = {}
        self.skipped = 0
        self.handled = 0
        self._locations: dict[str, tuple[float, float, float | None]] = {}
        self._monitor_files: dict[str, str] = {}  # Uniqueid -> MIXMONITOR_FILENAME
        self.own_recordings: set[str] = set()  # files of recordings our API started
        self._spy_options: dict[str, str] = {}  # spying channel -> ChanSpy options
        self._spies: dict[str, tuple[Call, str, str]] = {}  # spyer -> (call, spyer seat, mode)
        self._callbacks: dict[str, str] = {}  # Originate ActionID -> call back id
        self._callback_legs: dict[str, str] = {}  # Uniqueid of its channel -> call back id
        self._unclaimed: dict[str, AmiMessage] = {}  # OriginateResponse before we registered

    # ------------------------------------------------------------------ helpers

    def _wanted(self, queue: str) -> bool:
        return bool(queue) and (self.queues is None or queue in self.queues)

    def _skip(self, msg: AmiMessage, why: str) -> list[DomainEvent]:
        self.skipped += 1
        log.warning("AMI %s skipped: %s", msg.event, why)
        return []

    def seat(self, interface: str, name: str | None = None) -> Seat:
        seat = self.seats.get(interface)
        if seat is None:
            seat = self.seats[interface] = Seat(interface, name or interface)
        elif name and seat.name == seat.interface:
            seat.name = name
        return seat

    def call_for(self, msg: AmiMessage) -> Call | None:
        uid = msg.get("Uniqueid")
        if uid and uid in self.calls:
            return self.calls[uid]
        linked = msg.get("Linkedid")
        cid = self._by_linkedid.get(linked) if linked else None
        return self.calls.get(cid) if cid else None

    def _new_call(self, msg: AmiMessage, at: datetime, recovered: bool = False,
                  queued_at: datetime | None = None) -> tuple[Call, CallTransitioned] | None:
        uid = msg.get("Uniqueid")
        queue = msg.get("Queue")
        if not uid or not queue:
            return None
        call, event = Call.arrive(
            uid, queue, queued_at or at,
            number=normal_or_none(caller_id(msg.get("CallerIDNum"))),
            name=caller_id(msg.get("CallerIDName")),
            channel=msg.get("Channel") or None, linkedid=msg.get("Linkedid") or None,
            position=number(msg, "Position"), recovered=recovered,
        )
        if msg.get("Context") and msg.get("Exten"):
            call.place = (msg.get("Context"), msg.get("Exten"))
        self.calls[uid] = call
        if call.linkedid:
            self._by_linkedid[call.linkedid] = uid
            loc = self._locations.pop(call.linkedid, None)
            if loc is not None:
                call.location = loc
                event = CallTransitioned(call.view(), None, event.to_state, event.at, {})
        return call, event

    def _forget(self, call: Call) -> None:
        self.calls.pop(call.id, None)
        if call.linkedid and self._by_linkedid.get(call.linkedid) == call.id:
            del self._by_linkedid[call.linkedid]

    # ------------------------------------------------------------------ events

    def apply(self, msg: AmiMessage) -> list[DomainEvent]:
        name = msg.event
        if name is None:
            return []
        handler = _HANDLERS.get(name)
        if handler is None:
            return []
        self.handled += 1
        try:
            return handler(self, msg, self.clock())
        except (KeyError, ValueError) as exc:
            return self._skip(msg, f"unusable fields ({exc})")

    def _join(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        if not self._wanted(msg.get("Queue")):
            return []
        if msg.get("Uniqueid") in self.calls:
            return []
        made = self._new_call(msg, at)
        if made is None:
            return self._skip(msg, "QueueCallerJoin without Uniqueid or Queue")
        return [made[1]]

    def _ensure(self, msg: AmiMessage, at: datetime) -> tuple[Call | None, list[DomainEvent]]:
        call = self.calls.get(msg.get("Uniqueid"))
        if call is not None:
            return call, []
        if not self._wanted(msg.get("Queue")):
            return None, []
        made = self._new_call(msg, at)
        if made is None:
            return None, self._skip(msg, "no Uniqueid")
        return made[0], [made[1]]

    def _called(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        call, out = self._ensure(msg, at)
        interface = msg.get("Interface")
        if call is None or not interface:
            return out if call is None else self._skip(msg, "AgentCalled without Interface")
        seat = self.seat(interface, msg.get("MemberName") or None)
        if call.state in (CallState.QUEUED, CallState.OFFERED):
            if call.seat and call.seat != interface and call.seat in self.seats:
                out.extend(self.seats[call.seat].stop_ringing(call.id, at))
            out.append(call.offer(interface, at, msg.get("DestChannel") or None))
            out.extend(seat.ring(call.id, at))
        return out

    def _ring_no_answer(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        call = self.calls.get(msg.get("Uniqueid"))
        interface = msg.get("Interface")
        out: list[DomainEvent] = []
        if interface in self.seats and call is not None:
            out.extend(self.seats[interface].stop_ringing(call.id, at))
        if call is not None and call.state == CallState.OFFERED and call.seat == interface:
            out.append(call.ring_out(at))
        return out

    def _connect(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        call, out = self._ensure(msg, at)
        interface = msg.get("Interface")
        if call is None:
            return out
        if not interface:
            return self._skip(msg, "AgentConnect without Interface")
        seat = self.seat(interface, msg.get("MemberName") or None)
        if call.can(CallState.ANSWERED):
            out.append(call.answer(interface, at, number(msg, "HoldTime"),
                                   number(msg, "RingTime"), msg.get("DestChannel") or None))
        out.extend(seat.connect(call.id, at))
        return out

    def _abandon(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        call = self.calls.get(msg.get("Uniqueid"))
        if call is None or not call.can(CallState.ABANDONED):
            return []
        out: list[DomainEvent] = []
        if call.seat in self.seats:
            out.extend(self.seats[call.seat].stop_ringing(call.id, at))
        out.append(call.abandon(at, number(msg, "HoldTime"), number(msg, "Position")))
        return out

    def _leave(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        call = self.calls.get(msg.get("Uniqueid"))
        if call is not None:
            call.position = None
        return []

    def _complete(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        interface = msg.get("Interface")
        call = self.calls.get(msg.get("Uniqueid")) if msg.get("Uniqueid") else None
        seat = self.seats.get(interface) if interface else None
        if call is None and seat is not None:
            # no channel fields: the seat's current (or just-finished) call
            cid = seat.call or seat.last_call
            call = self.calls.get(cid) if cid else None
        if call is None:
            return self._skip(msg, f"AgentComplete for no known call (Interface {interface!r})")
        out: list[DomainEvent] = []
        talk = number(msg, "TalkTime")
        hold = number(msg, "HoldTime")
        reason = msg.get("Reason") or "unknown"
        if call.state == CallState.ANSWERED:
            if reason == "transfer":
                out.append(call.transfer(at, target=msg.get("TransferExten") or "unknown",
                                         how="asterisk"))
                call.talk_time = talk
                out.append(call.note(at, "talk_time", talk_time=talk, reason=reason))
            else:
                # Asterisk's Reason says who hung up first: the seat ("agent") or the caller
                out.append(call.complete(at, reason, talk, hold,
                                         hung_up_by=HUNG_UP_BY.get(reason, "unknown")))
        elif call.state == CallState.TRANSFERRED and call.talk_time is None:
            call.talk_time = talk
            out.append(call.note(at, "talk_time", talk_time=talk, reason=reason))
        elif call.state == CallState.TRANSFERRED:
            # Asterisk's figure runs on after the transfer, over the next party's talk
            out.append(call.note(at, "queue_talk_time", talk_time=talk, reason=reason))
        if seat is not None:
            out.extend(seat.release(call.id, at))
        elif call.seat in self.seats:
            out.extend(self.seats[call.seat].release(call.id, at))
        if call.hangup_at is not None and call.can(CallState.ENDED):
            out.extend(self._release_taker(call, at))
            out.append(call.end(call.hangup_at, call.hangup_cause))
            self._forget(call)
        return out

    def _transfer_event(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        uid = msg.get("TransfereeUniqueid") or msg.get("TransfererUniqueid")
        linked = msg.get("TransfereeLinkedid") or msg.get("OrigTransfererLinkedid") or msg.get(
            "TransfererLinkedid")
        call = self.calls.get(uid) if uid else None
        if call is None and linked:
            cid = self._by_linkedid.get(linked)
            call = self.calls.get(cid) if cid else None
        if call is None or msg.get("Result", "Success") != "Success":
            return []
        if not call.can(CallState.TRANSFERRED):
            return []
        target = (msg.get("Extension") or msg.get("TransferTargetChannel")
                  or msg.get("SecondTransfererChannel") or "unknown")
        how = "blind" if msg.event == "BlindTransfer" else "attended"
        out: list[DomainEvent] = [call.transfer(at, target=target, how=how)]
        if call.seat in self.seats:
            out.extend(self.seats[call.seat].release(call.id, at))
        return out

    def _hangup(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        leg = self._callback_legs.pop(msg.get("Uniqueid"), None)
        if leg is not None and leg in self.calls:
            return self._callback_hangup(self.calls[leg], number(msg, "Cause"), at)
        call = self.calls.get(msg.get("Uniqueid"))
        if call is None:
            return []
        cause = number(msg, "Cause")
        out: list[DomainEvent] = []
        if call.state in (CallState.QUEUED, CallState.OFFERED):
            if call.seat in self.seats:
                out.extend(self.seats[call.seat].stop_ringing(call.id, at))
            out.append(call.abandon(at))
        if call.state == CallState.ANSWERED:
            call.hangup_at = at
            call.hangup_cause = cause
            return out
        out.extend(self._release_taker(call, at))
        out.append(call.end(at, cause))
        self._forget(call)
        return out

    def _release_taker(self, call: Call, at: datetime) -> list[DomainEvent]:
        taker = self.seats.get(call.taken_over_by) if call.taken_over_by else None
        return list(taker.release(call.id, at)) if taker is not None else []

    def _newexten(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        """A caller running dialplan elsewhere while answered was redirected by someone else
        (another AMI client, a panel): Asterisk sends no transfer event for that, only the
        seat's leg hanging up, and AgentComplete later still names the first seat."""
        if msg.get("Application") == "ChanSpy":
            self._remember_spy(msg.get("Channel"), msg.get("AppData"))
            return []
        call = self.calls.get(msg.get("Uniqueid"))
        if call is None or call.state != CallState.ANSWERED or call.place is None:
            return []
        place = (msg.get("Context"), msg.get("Exten"))
        if not all(place) or place == call.place:
            return []
        target = f"{place[1]}@{place[0]}"
        out: list[DomainEvent] = [call.transfer(at, target=target, how="redirect",
                                                started_elsewhere=True)]
        if call.seat in self.seats:
            out.extend(self.seats[call.seat].release(call.id, at))
        taker = self.seats.get(f"Local/{target}")
        if taker is not None and taker.call is None:
            call.taken_over_by = taker.interface
            out.extend(taker.connect(call.id, at))
        return out

    def _remember_spy(self, channel: str, data: str) -> None:
        if not channel:
            return
        if len(self._spy_options) > 10_000:
            self._spy_options.clear()
        self._spy_options[channel] = data.split(",", 1)[1] if "," in data else ""

    def _originated(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        if msg.get("Application") == "ChanSpy" and msg.get("Response") == "Success":
            self._remember_spy(msg.get("Channel"), msg.get("Data"))
            return []
        cid = self._callbacks.pop(msg.action_id or "", None)
        call = self.calls.get(cid) if cid else None
        if call is None:
            if msg.action_id and msg.get("Exten"):
                if len(self._unclaimed) > 1_000:
                    self._unclaimed.clear()
                self._unclaimed[msg.action_id] = msg
            return []
        seat = self.seat(call.seat) if call.seat else None
        if msg.get("Response") != "Success":
            # the seat's phone did not answer (Reason: 3 no answer, 5 busy, 8 congestion)
            out: list[DomainEvent] = [call.end(at, None, outcome="seat_did_not_answer",
                                               reason=msg.get("Reason"))]
            self._forget(call)
            return out
        call.channel = msg.get("Channel") or None
        call.agent_channel = call.channel
        if msg.get("Uniqueid"):
            self._callback_legs[msg.get("Uniqueid")] = call.id
        out = [call.answer(call.seat or "", at, dialled=call.number)]
        if seat is not None:
            out.extend(seat.connect(call.id, at))
        return out

    def callback_started(self, call_id: str, action_id: str, interface: str, number: str,
                         origin_call: str | None, incident: int | None) -> list[DomainEvent]:
        """Our Originate of a call back was accepted: an outbound call, dialling the seat."""
        at = self.clock()
        origin = self.calls.get(origin_call) if origin_call else None
        call = Call(id=call_id, queue=CALLBACK_QUEUE, queued_at=at, kind=CallKind.OUTBOUND,
                    number=normal_number(number), seat=interface,
                    linkedid=origin.linkedid if origin is not None else None)
        self.calls[call_id] = call
        self._callbacks[action_id] = call_id
        out: list[DomainEvent] = [CallTransitioned(
            call.view(), None, str(CallState.QUEUED), at,
            {"seat": interface, "origin_call": origin_call, "incident": incident})]
        early = self._unclaimed.pop(action_id, None)
        if early is not None:
            out.extend(self._originated(early, at))
        return out

    def _callback_hangup(self, call: Call, cause: int | None,
                         at: datetime) -> list[DomainEvent]:
        outcome = CALLBACK_OUTCOMES.get(cause if cause is not None else 0, "failed")
        out: list[DomainEvent] = []
        if call.state == CallState.ANSWERED:
            out.append(call.complete(at, outcome, outcome=outcome))
        if call.seat in self.seats:
            out.extend(self.seats[call.seat].release(call.id, at))
        out.append(call.end(at, cause, outcome=outcome))
        self._forget(call)
        return out

    def _spy(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        """Listen-in, whisper and barge as call events: who, when, which mode."""
        spyer = msg.get("SpyerChannel")
        if msg.event == "ChanSpyStop":
            found = self._spies.pop(spyer, None)
            if found is None:
                return []
            return [found[0].note(at, "spy_stopped", by=found[1], mode=found[2],
                                  channel=spyer)]
        spyee = interface_of(msg.get("SpyeeChannel"))
        call: Call | None = next(
            (c for c in self.calls.values() if c.state == CallState.ANSWERED
             and c.agent_channel and interface_of(c.agent_channel) == spyee), None)
        if call is None:
            call = next((c for c in self.calls.values()
                         if c.channel and interface_of(c.channel) == spyee), None)
        if call is None:
            return []
        mode = spy_mode(self._spy_options.pop(spyer, ""))
        who = interface_of(spyer)
        self._spies[spyer] = (call, who, mode)
        return [call.note(at, "spy_started", by=who, mode=mode, channel=spyer)]

    def _recording(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        call = self.call_for(msg)
        if call is None:
            return []
        started = msg.event == "MixMonitorStart"
        if not started:
            return [call.note(at, "recording_stopped", channel=msg.get("Channel"))]
        # MixMonitorStart names no file: the VarSet of MIXMONITOR_FILENAME just before does
        file = self._monitor_files.pop(msg.get("Uniqueid"), None)
        ours = file is not None and file in self.own_recordings
        self.own_recordings.discard(file or "")
        return [call.note(at, "recording_started", channel=msg.get("Channel"), file=file,
                          started_here=ours)]

    def _varset(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        if msg.get("Variable") == MONITOR_VARIABLE:
            if len(self._monitor_files) > 10_000:
                self._monitor_files.clear()
            self._monitor_files[msg.get("Uniqueid")] = msg.get("Value")
            return []
        if msg.get("Variable") != LOCATION_VARIABLE:
            return []
        parts = [p.strip() for p in msg.get("Value").split(",")]
        try:
            lat, lon = float(parts[0]), float(parts[1])
            accuracy = float(parts[2]) if len(parts) > 2 and parts[2] else None
        except (ValueError, IndexError):
            return self._skip(msg, f"{LOCATION_VARIABLE}={msg.get('Value')!r} is not lat,lon")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return self._skip(msg, f"{LOCATION_VARIABLE} {lat},{lon} is out of range")
        call = self.call_for(msg)
        if call is None:
            linked = msg.get("Linkedid") or msg.get("Uniqueid")
            if linked:
                if len(self._locations) > 10_000:
                    self._locations.clear()
                self._locations[linked] = (lat, lon, accuracy)
            return []
        call.location = (lat, lon, accuracy)
        return [call.note(at, "location", lat=lat, lon=lon, accuracy_m=accuracy)]

    def _member_added(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        queue, interface = msg.get("Queue"), msg.get("Interface") or msg.get("Location")
        if not self._wanted(queue) or not interface:
            return []
        seat = self.seat(interface, msg.get("MemberName") or msg.get("Name") or None)
        return list(seat.join(queue, at, msg.get("Paused") == "1",
                              msg.get("PausedReason") or None))

    def _member_removed(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        queue, interface = msg.get("Queue"), msg.get("Interface")
        seat = self.seats.get(interface)
        if seat is None or not self._wanted(queue):
            return []
        return list(seat.leave(queue, at))

    def _member_pause(self, msg: AmiMessage, at: datetime) -> list[DomainEvent]:
        queue, interface = msg.get("Queue"), msg.get("Interface")
        if not self._wanted(queue) or not interface:
            return []
        seat = self.seat(interface, msg.get("MemberName") or None)
        out: list[DomainEvent] = list(seat.join(queue, at))
        if msg.get("Paused") == "1":
            out.extend(seat.pause(msg.get("PausedReason") or None, at))
        else:
            out.extend(seat.resume(at))
        return out

    # ------------------------------------------------------------------ actions we took

    def transferred(self, call_id: str, target: str, how: str) -> list[DomainEvent]:
        """Our own Redirect/Atxfer was accepted: the call is transferred."""
        call = self.calls.get(call_id)
        at = self.clock()
        if call is None or not call.can(CallState.TRANSFERRED):
            return []
        out: list[DomainEvent] = [call.transfer(at, target, how)]
        if call.seat in self.seats:
            seat = self.seats[call.seat]
            out.extend(seat.stop_ringing(call.id, at))
            out.extend(seat.release(call.id, at))
        return out

    def grabbed(self, call_id: str, interface: str) -> list[DomainEvent]:
        """A seat took a waiting or ringing call (our Redirect to its phone was accepted)."""
        call = self.calls.get(call_id)
        at = self.clock()
        if call is None or not call.can(CallState.ANSWERED):
            return []
        out: list[DomainEvent] = []
        if call.seat and call.seat in self.seats:
            out.extend(self.seats[call.seat].stop_ringing(call.id, at))
        out.append(call.answer(interface, at, grabbed=True))
        # the caller now runs the seat's extension: dialplan there is not a transfer
        call.place = _place_of(interface)
        out.extend(self.seat(interface).connect(call.id, at))
        return out

    def settle_overdue(self) -> list[DomainEvent]:
        """End calls whose caller hung up while answered and whose AgentComplete never came."""
        now = self.clock()
        out: list[DomainEvent] = []
        for call in list(self.calls.values()):
            if call.hangup_at is not None and now - call.hangup_at >= self.settle:
                if call.can(CallState.COMPLETED):
                    out.append(call.complete(call.hangup_at, "caller"))
                if call.seat in self.seats:
                    out.extend(self.seats[call.seat].release(call.id, now))
                out.extend(self._release_taker(call, now))
                out.append(call.end(call.hangup_at, call.hangup_cause))
                self._forget(call)
        return out

    # ------------------------------------------------------------------ resync

    def reconcile(self, snap: Snapshot) -> list[DomainEvent]:
        """Make the picture equal to what Asterisk lists, as ordinary transitions."""
        at = self.clock()
        out: list[DomainEvent] = []
        members: dict[str, list[AmiMessage]] = {}
        entries: dict[str, AmiMessage] = {}
        listed_queues: set[str] = set()
        for item in snap.queue_items:
            queue = item.get("Queue")
            if not self._wanted(queue):
                continue
            if item.event == "QueueParams":
                listed_queues.add(queue)
            elif item.event == "QueueMember" and item.get("Location"):
                members.setdefault(item["Location"], []).append(item)
            elif item.event == "QueueEntry" and item.get("Uniqueid"):
                entries[item["Uniqueid"]] = item
        out.extend(self._reconcile_seats(members, listed_queues, at))
        out.extend(self._reconcile_calls(entries, snap.channels, at))
        return out

    def _reconcile_seats(self, members: dict[str, list[AmiMessage]], listed: set[str],
                         at: datetime) -> list[DomainEvent]:
        out: list[DomainEvent] = []
        for interface, items in members.items():
            seat = self.seat(interface, items[0].get("Name") or None)
            for item in items:
                out.extend(seat.join(item["Queue"], at))
            paused = [i for i in items if i.get("Paused") == "1"]
            if paused:
                out.extend(seat.pause(paused[0].get("PausedReason") or None, at))
            else:
                out.extend(seat.resume(at))
        for interface, seat in self.seats.items():
            for queue in sorted(seat.queues):
                if queue in listed and not any(i["Queue"] == queue
                                               for i in members.get(interface, [])):
                    out.extend(seat.leave(queue, at))
        return out

    def _reconcile_calls(self, entries: dict[str, AmiMessage], channels: Sequence[AmiMessage],
                         at: datetime) -> list[DomainEvent]:
        out: list[DomainEvent] = []
        by_uid = {c.get("Uniqueid"): c for c in channels if c.get("Uniqueid")}
        in_queue_app = {
            uid: c for uid, c in by_uid.items()
            if c.get("Application") == "Queue"
            and self._wanted(c.get("ApplicationData").split(",")[0])
        }
        live = set(entries) | set(in_queue_app)
        for uid in list(self.calls):
            call = self.calls[uid]
            if uid in live or call.kind != "voice":
                continue
            # gone while we were not looking: Asterisk no longer reports its times, so the
            # talk time is unknown and the end time an estimate (left out of statistics)
            if call.state == CallState.ANSWERED:
                call.recovered = True
                out.append(call.complete(at, "unknown", estimated=True,
                                         hung_up_by="unknown"))
            if call.seat in self.seats:
                seat = self.seats[call.seat]
                out.extend(seat.stop_ringing(call.id, at))
                out.extend(seat.release(call.id, at))
            out.extend(self._release_taker(call, at))
            out.append(call.end(call.hangup_at or at, call.hangup_cause, lost=True,
                                estimated=call.hangup_at is None))
            self._forget(call)
        for uid in sorted(live):
            chan = by_uid.get(uid)
            entry = entries.get(uid)
            queue = (entry.get("Queue") if entry else
                     chan.get("ApplicationData").split(",")[0] if chan else "")
            linked = chan.get("Linkedid") if chan else ""
            peers = [c for c in channels
                     if linked and c.get("Linkedid") == linked and c.get("Uniqueid") != uid
                     and interface_of(c.get("Channel")) in self.seats]
            bridged = [p for p in peers if chan is not None and chan.get("BridgeId")
                       and p.get("BridgeId") == chan.get("BridgeId")]
            ringing = [p for p in peers if p.get("ChannelStateDesc") != "Up"]
            known = self.calls.get(uid)
            if known is not None:
                call = known
            else:
                source = entry or chan
                assert source is not None
                fields = dict(source.as_dict())
                fields.setdefault("Queue", queue)
                fields["Queue"] = queue
                if chan is not None:
                    fields.setdefault("Linkedid", chan.get("Linkedid"))
                    fields.setdefault("Channel", chan.get("Channel"))
                wait = number(entry, "Wait") if entry else None
                dur = _duration(chan.get("Duration")) if chan else None
                ago = wait if wait is not None else dur
                queued_at = at - timedelta(seconds=ago) if ago is not None else at
                made = self._new_call(AmiMessage.from_mapping(fields), at, recovered=True,
                                      queued_at=queued_at)
                if made is None:
                    continue
                call = made[0]
                out.append(made[1])
            if entry is not None:
                call.position = number(entry, "Position")
            if bridged and call.can(CallState.ANSWERED) and entry is None:
                iface = interface_of(bridged[0].get("Channel"))
                call.recovered = True
                out.append(call.answer(iface, at, agent_channel=bridged[0].get("Channel"),
                                       recovered=True, estimated=True))
                out.extend(self.seats[iface].connect(call.id, at))
            elif entry is not None and ringing and call.state == CallState.QUEUED:
                iface = interface_of(ringing[0].get("Channel"))
                out.append(call.offer(iface, at, ringing[0].get("Channel")))
                out.extend(self.seats[iface].ring(call.id, at))
            elif call.state == CallState.ANSWERED and call.seat in self.seats:
                out.extend(self.seats[call.seat].connect(call.id, at))
        return out

    # ------------------------------------------------------------------ views

    def live_calls(self) -> list[Call]:
        return [c for c in self.calls.values() if c.live]


def _place_of(interface: str) -> tuple[str, str] | None:
    """``Local/1001@agents`` -> ``("agents", "1001")``; other technologies have none."""
    if not interface.startswith("Local/") or "@" not in interface:
        return None
    exten, context = interface[len("Local/"):].split("@", 1)
    return context, exten


def _duration(raw: str) -> int | None:
    parts = raw.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2])


_Handler = Callable[[Tracker, AmiMessage, datetime], list[DomainEvent]]
_HANDLERS: dict[str, _Handler] = {
    "QueueCallerJoin": Tracker._join,
    "AgentCalled": Tracker._called,
    "AgentRingNoAnswer": Tracker._ring_no_answer,
    "AgentConnect": Tracker._connect,
    "QueueCallerAbandon": Tracker._abandon,
    "QueueCallerLeave": Tracker._leave,
    "AgentComplete": Tracker._complete,
    "BlindTransfer": Tracker._transfer_event,
    "AttendedTransfer": Tracker._transfer_event,
    "Hangup": Tracker._hangup,
    "MixMonitorStart": Tracker._recording,
    "MixMonitorStop": Tracker._recording,
    "QueueMemberAdded": Tracker._member_added,
    "QueueMemberRemoved": Tracker._member_removed,
    "QueueMemberPause": Tracker._member_pause,
    "QueueMemberPaused": Tracker._member_pause,
    "VarSet": Tracker._varset,
    "Newexten": Tracker._newexten,
    "OriginateResponse": Tracker._originated,
    "ChanSpyStart": Tracker._spy,
    "ChanSpyStop": Tracker._spy,
}
