"""The AMI bridge: one connection to Asterisk, kept alive, turned into domain events.

- connects and logs in (settings passed in), reconnects with exponential backoff and jitter;
- on every (re)connect asks ``QueueStatus`` (each configured queue) and ``CoreShowChannels`` and
  reconciles the tracker with them, so a restart of either side mid-call loses no call;
- the socket reader never waits for our work: messages go to a bounded buffer; when it
  overflows (a slow consumer) the buffer is dropped and a resync is done instead of letting
  Asterisk disconnect a slow reader;
- events read before a resync's snapshot are applied before it, later ones after it;
- health is ``ok`` or ``degraded`` with a reason; changes go to the consumer;
- call-centre actions (sign in, pause, transfer, listen-in, recording ...) are methods here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from telephony.ami_client import AmiClient
from telephony.ami_protocol import AmiMessage
from telephony.calls import Call, CallState
from telephony.errors import (
    ActionFailed,
    Conflict,
    InvalidRequest,
    NotFound,
    SwitchUnavailable,
    TelephonyError,
)
from telephony.seats import Seat
from telephony.spool import Spool
from telephony.tracker import Clock, DomainEvent, Snapshot, Tracker, utcnow

log = logging.getLogger(__name__)

PHONE_NUMBER = re.compile(r"^\+?[0-9]{2,20}$")
EXTENSION = re.compile(r"^[0-9A-Za-z*#+_.-]{1,40}$")
INTERFACE = re.compile(r"^[A-Za-z]+/[^\s,;|]{1,80}$")
SpyMode = Literal["listen", "whisper", "barge"]
WRITE_ATTEMPTS = 5  # a batch the consumer cannot take is retried with backoff (0.2 s ... 1.6 s)
SPY_OPTIONS: dict[str, str] = {"listen": "qE", "whisper": "qwE", "barge": "qBE"}


@dataclass(frozen=True)
class AmiSettings:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "cad"
    secret: str = ""
    queues: tuple[str, ...] = ("emergency",)
    seat_context: str = "agents"
    transfer_context: str = "agents"
    outgoing_context: str = "outgoing"
    recording_dir: str = "/var/spool/asterisk/monitor"
    reconnect_min: float = 0.2
    reconnect_max: float = 10.0
    buffer_size: int = 20_000
    ping_interval: float = 10.0
    action_timeout: float = 5.0
    settle_seconds: float = 5.0
    outbox_limit: int = 50_000
    transfer_confirm_seconds: float = 5.0  # an Atxfer's Success only means keys were queued
    spool_path: str = ""  # call events beyond outbox_limit while the database is away


@dataclass(frozen=True)
class Health:
    status: Literal["ok", "degraded"]
    reason: str | None
    since: datetime

    def as_json(self) -> dict[str, object]:
        return {"status": self.status, "reason": self.reason, "since": self.since.isoformat()}


class Consumer(Protocol):
    """Receives what the bridge learns.

    ``notice`` is called at once, in the reader's pipeline: it must be quick and not block
    (start screen pops there). ``handle`` is called later, in order, in batches, by the bridge's
    writer task (persist there); it may be slow: the bridge buffers, then resyncs.
    """

    def notice(self, events: Sequence[DomainEvent]) -> None: ...

    async def handle(self, events: Sequence[DomainEvent]) -> None: ...

    async def health_changed(self, health: Health) -> None: ...

    def unavailable(self, exc: BaseException) -> bool:
        """Whether ``handle`` failed because its storage is away (then it is retried until it
        is back, nothing dropped), not because of the events themselves."""
        ...


@dataclass
class BridgeStats:
    received: int = 0
    applied: int = 0
    overflows: int = 0
    resyncs: int = 0
    connects: int = 0
    last_resync_seconds: float | None = None
    consumer_errors: int = 0
    extra: dict[str, float] = field(default_factory=dict)


class Bridge:
    """Start with ``await bridge.start()``; ``await bridge.stop()`` at shutdown."""

    def __init__(self, settings: AmiSettings, consumer: Consumer, clock: Clock = utcnow) -> None:
        self.settings = settings
        self.consumer = consumer
        self.clock = clock
        self.tracker = Tracker(settings.queues or None, clock, settings.settle_seconds)
        self.stats = BridgeStats()
        self._buffer: deque[tuple[int, AmiMessage]] = deque()
        self._wake = asyncio.Event()
        self._overflow = False
        self._client: AmiClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._health = Health("degraded", "not connected yet", clock())
        self._ready = asyncio.Event()
        self._outbox: deque[DomainEvent] = deque()
        self._outbox_wake = asyncio.Event()
        self._outbox_drained = asyncio.Event()
        self._outbox_drained.set()
        self._writer_task: asyncio.Task[None] | None = None
        self._writing = False
        self._spool = Spool(Path(settings.spool_path)) if settings.spool_path else None
        self._storage_down: datetime | None = None  # since when the consumer cannot store
        self._held_batch = 0
        self.warnings: list[str] = []  # what the Asterisk in use lacks (feature codes ...)
        self._random = random.Random()  # noqa: S311 - jitter, not security
        self.offer_arrivals: dict[str, float] | None = None  # benchmarks: AgentCalled times

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._stopping = False
        loop = asyncio.get_running_loop()
        self._writer_task = loop.create_task(self._write(), name="ami-bridge-writer")
        self._task = loop.create_task(self._run(), name="ami-bridge")

    async def stop(self) -> None:
        self._stopping = True
        if self._client is not None:
            self._client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._writer_task is not None:
            await self.flush()
            self._writer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer_task
            self._writer_task = None

    @property
    def health(self) -> Health:
        if self._storage_down is not None and self._health.status == "ok":
            return Health("degraded", self.storage_reason(), self._storage_down)
        return self._health

    @property
    def held(self) -> tuple[int, int]:
        """Call events not stored yet: (in memory, in the spool file)."""
        return (len(self._outbox) + self._held_batch,
                self._spool.count if self._spool is not None else 0)

    def storage_reason(self) -> str:
        memory, spooled = self.held
        return (f"the database is unavailable: {memory} call events held in memory, "
                f"{spooled} in the spool file; written when it is back")

    @property
    def backlog(self) -> int:
        """Messages read but not applied yet."""
        return len(self._buffer)

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected and self._ready.is_set()

    async def wait_ready(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Until connected and resynced (tests, start-up)."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def _set_health(self, status: Literal["ok", "degraded"], reason: str | None) -> None:
        if self._health.status == status and self._health.reason == reason:
            return
        self._health = Health(status, reason, self.clock())
        log.info("telephony %s%s", status, f": {reason}" if reason else "")
        try:
            await self.consumer.health_changed(self._health)
        except Exception:
            self.stats.consumer_errors += 1
            log.exception("telephony consumer failed on a health change")

    async def _run(self) -> None:
        delay = self.settings.reconnect_min
        s = self.settings
        while not self._stopping:
            self._ready.clear()
            try:
                client = await AmiClient.open(s.host, s.port, s.username, s.secret,
                                              self._on_message, self._on_lost,
                                              wait=s.action_timeout)
            except TelephonyError as exc:
                await self._set_health("degraded", exc.message)
                await asyncio.sleep(delay * (0.5 + self._random.random()))
                delay = min(delay * 2, s.reconnect_max)
                continue
            delay = s.reconnect_min
            self._client = client
            self.stats.connects += 1
            try:
                self._buffer.clear()
                self._overflow = False
                await self.resync()
                self.warnings = await self._check_features(client)
                self._ready.set()
                await self._set_health("ok", None)
                await self._process(client)
            except TelephonyError as exc:
                log.warning("AMI session ended: %s", exc.message)
            finally:
                client.close()
                self._client = None
                self._ready.clear()
            if not self._stopping:
                await self._set_health("degraded", "the connection to Asterisk was lost")
                await asyncio.sleep(delay * self._random.random())

    # ------------------------------------------------------------------ reading

    def _on_lost(self, exc: BaseException | None) -> None:
        self._ready.clear()
        self._wake.set()

    def _on_message(self, msg: AmiMessage, seq: int) -> None:
        """Called by the reader for every unsolicited message: never blocks, never raises."""
        self.stats.received += 1
        if self.offer_arrivals is not None and msg.event == "AgentCalled":
            self.offer_arrivals[msg.get("Uniqueid")] = time.monotonic()
        if self._overflow:
            return
        if len(self._buffer) >= self.settings.buffer_size:
            self._overflow = True
            self.stats.overflows += 1
            self._buffer.clear()
            log.warning("AMI buffer full (%d): dropping it, resync follows",
                        self.settings.buffer_size)
        else:
            self._buffer.append((seq, msg))
        self._wake.set()

    async def _process(self, client: AmiClient) -> None:
        last_ping = time.monotonic()
        last_settle = time.monotonic()
        while client.connected or self._buffer:
            if self._overflow:
                await self.resync()
                continue
            if not self._buffer:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)
            events: list[DomainEvent] = []
            taken = 0
            while self._buffer and taken < 100 and not self._overflow:
                _, msg = self._buffer.popleft()
                taken += 1
                events.extend(self.tracker.apply(msg))
            self.stats.applied += taken
            now = time.monotonic()
            if now - last_settle >= 1.0:
                last_settle = now
                events.extend(self.tracker.settle_overdue())
            if events:
                await self._deliver(events)
            if now - last_ping >= self.settings.ping_interval and client.connected:
                last_ping = now
                try:
                    await client.send("Ping", wait=self.settings.action_timeout)
                except SwitchUnavailable:
                    log.warning("Asterisk did not answer Ping: reconnecting")
                    client.close()

    async def _deliver(self, events: Sequence[DomainEvent]) -> None:
        """Tell the consumer at once (``notice``), queue the events for its writer
        (``handle``). When the writer falls far behind, wait for it: the AMI buffer then
        fills, and its overflow turns into a resync instead of unbounded memory."""
        try:
            self.consumer.notice(events)
        except Exception:
            self.stats.consumer_errors += 1
            log.exception("telephony consumer failed to notice %d events", len(events))
        spool = self._spool
        if spool is not None and (spool.active or len(self._outbox) >= self.settings.outbox_limit):
            # memory is full (or older events wait on disk): keep the order, on disk
            spool.append(events)
            self._outbox_wake.set()
            return
        self._outbox.extend(events)
        self._outbox_wake.set()
        while (spool is None and len(self._outbox) > self.settings.outbox_limit
               and self._writer_task is not None):
            self._outbox_drained.clear()
            await self._outbox_drained.wait()

    async def _write(self) -> None:
        """The writer: hands queued events to the consumer in order, in batches: memory first,
        then the spool file (which only fills once memory is full)."""
        while True:
            spool = self._spool
            if not self._outbox and not (spool is not None and spool.active):
                self._outbox_drained.set()
                self._outbox_wake.clear()
                await self._outbox_wake.wait()
                continue
            offset = -1
            if self._outbox:
                batch: list[DomainEvent] = []
                while self._outbox and len(batch) < 200:
                    batch.append(self._outbox.popleft())
            else:
                assert spool is not None
                batch, offset = spool.peek(200)
            t0 = time.perf_counter()
            self._writing = True
            self._held_batch = len(batch) if offset < 0 else 0
            try:
                await self._hand_over(batch)
            finally:
                self._writing = False
                self._held_batch = 0
            if offset >= 0 and spool is not None:
                spool.consumed(len(batch), offset)
            extra = self.stats.extra
            extra["write_s"] = extra.get("write_s", 0.0) + time.perf_counter() - t0
            extra["batches"] = extra.get("batches", 0.0) + 1
            extra["domain_events"] = extra.get("domain_events", 0.0) + len(batch)

    async def _hand_over(self, batch: list[DomainEvent]) -> None:
        """One batch to the consumer. While its storage is away the batch is retried until it
        is back (nothing is dropped; health says so); a batch refused for itself is retried a
        few times, then logged and set aside."""
        attempt = 0
        while True:
            try:
                await self.consumer.handle(batch)
            except Exception as exc:
                self.stats.consumer_errors += 1
                attempt += 1
                if self.consumer.unavailable(exc):
                    if self._storage_down is None:
                        self._storage_down = self.clock()
                        log.warning("telephony: %s", self.storage_reason())
                    await asyncio.sleep(min(0.1 * 2 ** min(attempt, 5), 2.0))
                    continue
                if attempt >= WRITE_ATTEMPTS:
                    log.exception("telephony consumer refused %d events %d times; set aside",
                                  len(batch), attempt)
                    self.stats.extra["set_aside"] = (
                        self.stats.extra.get("set_aside", 0.0) + len(batch))
                    if self._spool is not None:  # kept for a person to look at, not lost
                        Spool(self._spool.path.with_suffix(".rejected.jsonl")).append(batch)
                    return
                log.warning("telephony consumer failed on %d events; retrying", len(batch),
                            exc_info=True)
                await asyncio.sleep(0.2 * 2 ** (attempt - 1))
                continue
            if self._storage_down is not None:
                log.info("telephony: the database is back; held call events written")
                self._storage_down = None
            return

    async def flush(self, limit: float = 5.0) -> None:
        """Until everything learnt so far has been handed to the consumer's writer."""
        for _ in range(int(limit / 0.01)):
            if not self._outbox and not self._writing:
                return
            await asyncio.sleep(0.01)

    async def _check_features(self, client: AmiClient) -> list[str]:
        """Attended transfer and consult need an attended-transfer feature code
        (``features.conf``: ``[featuremap]`` ``atxfer => *2``); say so when it is missing."""
        try:
            answer = await client.send("Command", wait=self.settings.action_timeout,
                                       Command="features show")
        except TelephonyError as exc:
            return [f"could not ask Asterisk for its feature codes: {exc.message}"]
        code = attended_transfer_code(answer.all("Output"))
        if answer.get("Response") != "Success" or code is None:
            return ["Asterisk has no attended-transfer feature code (features.conf [featuremap] "
                    "atxfer => *2): attended transfer and consult will fail"]
        return []

    async def resync(self) -> None:
        """Ask Asterisk what is live and reconcile; older buffered events go first."""
        client = self._client
        if client is None:
            raise SwitchUnavailable("not connected to Asterisk", code="asterisk.not_connected")
        t0 = time.perf_counter()
        self._overflow = False
        snap = Snapshot()
        seq = 0
        queues = self.settings.queues or ("",)
        for queue in queues:
            fields = {"Queue": queue} if queue else {}
            result = await client.send_list("QueueStatus", wait=self.settings.action_timeout,
                                            **fields)
            snap.queue_items.extend(result.items)
            seq = max(seq, result.seq)
        channels = await client.send_list("CoreShowChannels", wait=self.settings.action_timeout)
        snap.channels.extend(channels.items)
        seq = max(seq, channels.seq)
        events: list[DomainEvent] = []
        if self._overflow:
            # the buffer was dropped while we asked: the snapshot alone is the truth
            self._overflow = False
        while self._buffer and self._buffer[0][0] < seq:
            events.extend(self.tracker.apply(self._buffer.popleft()[1]))
        events.extend(self.tracker.reconcile(snap))
        self.stats.resyncs += 1
        self.stats.last_resync_seconds = time.perf_counter() - t0
        if events:
            await self._deliver(events)

    # ------------------------------------------------------------------ actions

    def _require(self) -> AmiClient:
        client = self._client
        if client is None or not client.connected:
            raise SwitchUnavailable(
                f"Asterisk is not connected ({self._health.reason or 'reconnecting'})",
                code="asterisk.disconnected", reason=self._health.reason or "reconnecting")
        return client

    async def _do(self, name: str, *extra: tuple[str, str], **fields: str) -> AmiMessage:
        client = self._require()
        try:
            return await client.call(name, *extra, wait=self.settings.action_timeout, **fields)
        except ValueError as exc:
            raise InvalidRequest(str(exc), code="asterisk.field_invalid", reason=str(exc)) from exc

    def call(self, call_id: str) -> Call:
        call = self.tracker.calls.get(call_id)
        if call is None:
            raise NotFound(f"no live call {call_id}", code="call.not_live", call=call_id)
        return call

    def seat(self, interface: str) -> Seat:
        seat = self.tracker.seats.get(interface)
        if seat is None:
            raise NotFound(f"no seat {interface}", code="seat.unknown", seat=interface)
        return seat

    @staticmethod
    def check_interface(interface: str) -> str:
        if not INTERFACE.match(interface):
            raise InvalidRequest(
                f"seat interface {interface!r} is not a channel like Local/1001@agents or "
                "PJSIP/1001", code="seat.interface_invalid", interface=interface)
        return interface

    def extension_of(self, interface: str) -> tuple[str, str]:
        """The dialplan extension and context that ring a seat's phone."""
        m = re.fullmatch(r"Local/(?P<exten>[^@]+)@(?P<ctx>.+)", interface)
        if m:
            return m.group("exten"), m.group("ctx")
        return interface.split("/", 1)[-1], self.settings.seat_context

    async def sign_in(self, interface: str, name: str, queues: Sequence[str] = (),
                      paused: bool = False, reason: str | None = None) -> None:
        self.check_interface(interface)
        for queue in queues or self.settings.queues:
            fields = {"Queue": queue, "Interface": interface, "MemberName": name,
                      "Paused": "true" if paused else "false"}
            if paused and reason:
                fields["Reason"] = reason
            try:
                await self._do("QueueAdd", **fields)
            except ActionFailed as exc:
                if "Already there" not in exc.message:
                    raise

    async def sign_out(self, interface: str) -> None:
        self.check_interface(interface)
        seat = self.seat(interface)
        for queue in sorted(seat.queues):
            await self._do("QueueRemove", Queue=queue, Interface=interface)

    async def pause(self, interface: str, reason: str) -> None:
        self.check_interface(interface)
        if not reason.strip():
            raise InvalidRequest(
                "a pause needs a reason (break, paperwork ...)", code="seat.pause_reason_missing")
        self.seat(interface)
        await self._do("QueuePause", Interface=interface, Paused="true", Reason=reason)

    async def resume(self, interface: str) -> None:
        self.check_interface(interface)
        self.seat(interface)
        await self._do("QueuePause", Interface=interface, Paused="false")

    def _answered(self, call_id: str) -> Call:
        call = self.call(call_id)
        if call.state != CallState.ANSWERED or not call.agent_channel:
            raise Conflict(f"call {call_id} is {call.state}, not answered by a seat",
                           code="call.not_answered", call=call_id, state=str(call.state))
        return call

    async def transfer(self, call_id: str, exten: str, context: str | None = None,
                       attended: bool = False) -> list[DomainEvent]:
        """Blind (Redirect of the caller) or attended (Atxfer from the seat's channel)."""
        if not EXTENSION.match(exten):
            raise InvalidRequest(
                f"{exten!r} is not a dialable extension", code="call.extension_invalid",
                extension=exten)
        ctx = context or self.settings.transfer_context
        call = self._answered(call_id) if attended else self.call(call_id)
        if attended:
            assert call.agent_channel is not None
            await self._do("Atxfer", Channel=call.agent_channel, Exten=exten, Context=ctx)
            return await self._confirm_transfer(call, f"{exten}@{ctx}")
        if not call.channel:
            raise Conflict(f"call {call_id} has no channel to redirect",
                           code="call.no_channel_to_redirect", call=call_id)
        await self._do("Redirect", Channel=call.channel, Exten=exten, Context=ctx,
                       Priority="1")
        events = self.tracker.transferred(call_id, f"{exten}@{ctx}", "blind")
        await self._deliver(events)
        return events

    async def _confirm_transfer(self, call: Call, target: str) -> list[DomainEvent]:
        """Asterisk answers ``Atxfer`` with Success once the feature's key presses are queued,
        not when a transfer happened: wait for the ``AttendedTransfer`` (the call becomes
        transferred), or report the transfer failed after ``transfer_confirm_seconds``."""
        limit = self.settings.transfer_confirm_seconds
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if call.state != CallState.ANSWERED:
                break
            await asyncio.sleep(0.05)
        if call.state == CallState.TRANSFERRED:
            return []
        reason = ("the call ended before a transfer was reported" if not call.live else
                  f"Asterisk reported no transfer within {limit:g} s")
        events: list[DomainEvent] = [call.note(self.clock(), "transfer_failed", target=target,
                                               how="attended", reason=reason)]
        await self._deliver(events)
        raise ActionFailed(
            f"the attended transfer of call {call.id} to {target} did not happen: {reason}",
            code="call.transfer_not_confirmed", call=call.id, target=target, reason=reason)

    async def consult(self, call_id: str, helper: str) -> None:
        """Ask another seat for help privately (坐席间求助): an attended transfer to its phone,
        which the seat completes (transfer) or cancels (back to the caller)."""
        self.check_interface(helper)
        exten, ctx = self.extension_of(helper)
        await self.transfer(call_id, exten, ctx, attended=True)

    async def conference(self, call_id: str, helper: str) -> None:
        """Bring another seat into the conversation: it barges in on the seat's channel."""
        await self.spy(call_id, helper, "barge")

    async def spy(self, call_id: str, supervisor: str, mode: SpyMode) -> None:
        """Listen-in, whisper (to the seat only) or barge (to both), by ChanSpy on the seat."""
        self.check_interface(supervisor)
        if mode not in SPY_OPTIONS:
            raise InvalidRequest(
                f"spy mode must be listen, whisper or barge, not {mode!r}",
                code="call.spy_mode_unknown", mode=mode, known=list(SPY_OPTIONS))
        call = self._answered(call_id)
        assert call.agent_channel is not None
        target = call.agent_channel.rsplit(";", 1)[0]
        await self._do("Originate", Channel=supervisor, Application="ChanSpy",
                       Data=f"{target},{SPY_OPTIONS[mode]}", Async="true",
                       CallerID=f"\"{mode}\" <{self.extension_of(supervisor)[0]}>")

    async def grab(self, call_id: str, interface: str) -> list[DomainEvent]:
        """Take a waiting or ringing call (抢接): the caller is redirected to this seat."""
        self.check_interface(interface)
        call = self.call(call_id)
        if call.state not in (CallState.QUEUED, CallState.OFFERED) or not call.channel:
            raise Conflict(
                f"call {call_id} is {call.state}; only a waiting call can be grabbed",
                code="call.not_waiting", call=call_id, state=str(call.state))
        exten, ctx = self.extension_of(interface)
        await self._do("Redirect", Channel=call.channel, Exten=exten, Context=ctx, Priority="1")
        events = self.tracker.grabbed(call_id, interface)
        await self._deliver(events)
        return events

    async def hangup(self, call_id: str) -> None:
        call = self.call(call_id)
        if not call.channel:
            raise Conflict(f"call {call_id} has no channel", code="call.no_channel", call=call_id)
        await self._do("Hangup", Channel=call.channel, Cause="16")

    async def call_back(self, interface: str, number: str, caller_id: str | None = None,
                        origin_call: str | None = None,
                        incident: int | None = None) -> tuple[str, str]:
        """Ring the seat, then dial the number (``Originate`` with ``Async``); tracked as an
        outbound call (linked to the call it answers) until its leg hangs up. Returns the
        Originate's ActionID and the new call's id."""
        self.check_interface(interface)
        if not PHONE_NUMBER.match(number):
            raise InvalidRequest(
                f"{number!r} is not a phone number (digits, optional +)",
                code="call.number_invalid", number=number)
        answer = await self._do(
            "Originate", Channel=interface, Context=self.settings.outgoing_context,
            Exten=number, Priority="1", Async="true",
            CallerID=caller_id or f"<{self.extension_of(interface)[0]}>")
        action = answer.get("ActionID")
        call_id = f"callback-{uuid.uuid4().hex[:16]}"
        await self._deliver(self.tracker.callback_started(
            call_id, action, interface, number, origin_call, incident))
        return action, call_id

    async def start_recording(self, call_id: str) -> str:
        """MixMonitor on the caller channel; returns the file reference."""
        call = self.call(call_id)
        if not call.live or not call.channel:
            raise Conflict(f"call {call_id} is {call.state}; nothing to record",
                           code="call.not_recordable", call=call_id, state=str(call.state))
        stamp = self.clock().strftime("%Y%m%dT%H%M%S")
        safe = re.sub(r"[^0-9A-Za-z.]", "_", call_id)
        path = f"{self.settings.recording_dir.rstrip('/')}/{safe}-{stamp}.wav"
        if len(self.tracker.own_recordings) > 1_000:
            self.tracker.own_recordings.clear()
        self.tracker.own_recordings.add(path)  # its row is the API's, not the event's
        await self._do("MixMonitor", Channel=call.channel, File=path, Options="b")
        return path

    async def stop_recording(self, call_id: str) -> None:
        call = self.call(call_id)
        if not call.channel:
            raise Conflict(f"call {call_id} has no channel", code="call.no_channel", call=call_id)
        await self._do("StopMixMonitor", Channel=call.channel)


def attended_transfer_code(lines: Sequence[str]) -> str | None:
    """The current code of ``Attended Transfer`` in ``features show`` output, if any."""
    column = next((line.index("Current") for line in lines if "Current" in line), None)
    for line in lines:
        if line.startswith("Attended Transfer") and column is not None:
            return line[column:].strip() or None
    return None
