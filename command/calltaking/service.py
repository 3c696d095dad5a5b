"""Call-taking over the Asterisk bridge: its consumer, the screen pops, and the call-centre
actions.

What the bridge learns is persisted (``telephony.store``) and appended to the event log in one
transaction, then the hub is poked. When a call or report is offered to a seat (or grabbed by
one), a screen pop (``screen_pop``) is handed to the consoles that watch that seat: the
``/api/v1/telephony/ws`` websocket of the call-taker signed in on it. Actions on calls (listen-in,
transfer, hang-up ...) are audited with who asked and from where.

Health changes of the AMI link are recorded as ``telephony.health`` events, so consoles are
told; text and alarm intake never needs Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import audit, request_audit
from command import events as event_log
from command.auth.roles import Role
from command.auth.service import Principal
from command.calltaking.config import TelephonyConfig
from command.calltaking.held_connection import HeldConnection
from command.calltaking.holder import Holder
from command.calltaking.screen_pop import (
    EMPTY_CONTEXT,
    POP_SQL,
    PopHub,
    decoded,
    plain_row,
)
from command.errors import Forbidden
from command.eventhub import EventHub, Lagged
from command.events import NewEvent
from command.health import PartHealth
from command.incidents import store as incident_store
from command.origin import Origin
from telephony import store
from telephony.bridge import Bridge, Health, SpyMode
from telephony.calls import CallKind, CallTransitioned, CallUpdated, CallView, Report
from telephony.errors import Conflict, InvalidRequest
from telephony.phone import normal_number
from telephony.seats import SeatChanged, SeatState
from telephony.stats import Figures
from telephony.tracker import DomainEvent

log = logging.getLogger(__name__)

SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})


def to_new_event(event: DomainEvent, actor: str | None = None) -> NewEvent:
    if isinstance(event, CallTransitioned):
        return NewEvent(
            event.type,
            "call",
            event.call.id,
            {"call": event.call.as_json(), "from": event.from_state, "detail": dict(event.detail)},
            actor,
        )
    if isinstance(event, CallUpdated):
        return NewEvent(
            event.type,
            "call",
            event.call.id,
            {"call": event.call.as_json(), "detail": dict(event.detail)},
            actor,
        )
    return NewEvent(
        event.type,
        "seat",
        event.seat.interface,
        {"seat": event.seat.as_json(), "detail": dict(event.detail)},
        actor,
    )


class TelephonyService:
    """The consumer of the bridge, and what the telephony routes call."""

    def __init__(
        self,
        engine: AsyncEngine,
        hub: EventHub,
        config: TelephonyConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.hub = hub
        self.config = config
        self.clock = clock
        self.bridge = Bridge(config.ami, self, clock)
        self.holder = Holder(engine, self._elected, self._deposed, clock)
        self._bridge_ran = False
        # pops reach consoles on every process: the holder also writes them to the event log
        self._process = uuid.uuid4().hex
        self._relay_out: list[tuple[str, dict[str, Any]]] = []
        self._relay_wake = asyncio.Event()
        self._relay_tasks: list[asyncio.Task[None]] = []
        self._watched_elsewhere: set[str] = set()  # seats with a console on another process
        self.pops = PopHub()
        self._rr = 0
        self._logged_status = "degraded"
        self._pop_tasks: set[asyncio.Task[None]] = set()
        # held connections: the writer's batches and the pops' lookups skip pool checkout
        self._writer = HeldConnection(engine)
        self._readers = [HeldConnection(engine, autocommit=True) for _ in range(4)]
        self._next_reader = 0
        self._offering = asyncio.Lock()
        # seconds a pop may wait for the caller's history (looked up from the moment the call
        # is queued, by an indexed query): long enough that pops carry it, bounded all the same
        self.pop_wait = 0.25
        self.sent_latencies: list[tuple[str, float]] | None = None  # benchmarks only
        self._report_seats: dict[str, str] = {}  # report call id -> seat it is offered to
        self._context: dict[str, asyncio.Task[dict[str, Any]]] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self.config.enabled:
            loop = asyncio.get_running_loop()
            self._relay_tasks = [loop.create_task(self._relay_pops_out(), name="pops-out"),
                                 loop.create_task(self._relay_pops_in(), name="pops-in")]
            await self.holder.start()

    async def _relay_pops_out(self) -> None:
        """Pops this process sent, to the event log for consoles on the other processes."""
        while True:
            await self._relay_wake.wait()
            self._relay_wake.clear()
            batch, self._relay_out = self._relay_out, []
            if not batch:
                continue
            try:
                async with self.engine.begin() as conn:
                    await event_log.append(conn, [NewEvent(
                        "telephony.pop", "seat", seat,
                        {"process": self._process, "message": message}, "asterisk")
                        for seat, message in batch])
                self.hub.poke()
            except Exception:
                log.warning("%d screen pops not relayed to other processes", len(batch),
                            exc_info=True)

    async def _relay_pops_in(self) -> None:
        """Pops another process (the bridge's holder) sent, to consoles connected here."""
        sub = self.hub.subscribe()
        try:
            while True:
                try:
                    event = await sub.get()
                except Lagged:
                    continue
                if event.data.get("process") == self._process:
                    continue
                if event.type == "telephony.pop":
                    self.pops.publish(event.subject_id, dict(event.data["message"]))
                elif event.type == "telephony.console":
                    # a console on another process: its pops go through the event log
                    if event.data.get("watching"):
                        self._watched_elsewhere.add(event.subject_id)
                    else:
                        self._watched_elsewhere.discard(event.subject_id)
        finally:
            self.hub.unsubscribe(sub)

    async def _elected(self) -> None:
        # it connects and resyncs from Asterisk (taking over mid-call); after a standby
        # spell, a fresh bridge: the old picture is out of date
        if self._bridge_ran:
            self.bridge = Bridge(self.config.ami, self, self.clock)
        self._bridge_ran = True
        await self.bridge.start()

    async def _deposed(self) -> None:
        await self.bridge.stop()

    async def stop(self) -> None:
        for relay in self._relay_tasks:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
        await self.holder.stop()
        await self.bridge.stop()
        for task in list(self._pop_tasks) + list(self._context.values()):
            task.cancel()
        await self._writer.close()
        for reader in self._readers:
            await reader.close()

    @property
    def health(self) -> Health:
        if not self.config.enabled:
            return Health("degraded", "telephony is switched off (CAD_AMI_ENABLED=false)",
                          self.clock())
        if self.holder.role == "standby":
            return Health("ok", "standby: another process runs the AMI bridge",
                          self.holder.since)
        return self.bridge.health

    # ------------------------------------------------------------------ Consumer

    def notice(self, events: Sequence[DomainEvent]) -> None:
        """Screen pops leave at once, beside the writer: a call-taker sees what rings even
        when the database is slow, and a pop never waits for a batch's commit. The caller's
        history is looked up as soon as the call is queued, so an offer usually finds it
        ready."""
        loop = asyncio.get_running_loop()
        for event in events:
            if not isinstance(event, CallTransitioned):
                continue
            call = event.call
            if event.to_state == "queued" and call.number and call.id not in self._context:
                self._context[call.id] = loop.create_task(self._lookup(call.number, call.id))
            elif call.seat and (
                event.to_state == "offered"
                or (event.to_state == "answered" and event.detail.get("grabbed"))
            ):
                task = loop.create_task(self._pop(call))
                self._pop_tasks.add(task)
                task.add_done_callback(self._pop_tasks.discard)
            elif event.to_state == "ended":
                self._context.pop(call.id, None)  # a lookup still running just finishes
        if any(isinstance(e, SeatChanged) and e.seat.state == SeatState.AVAILABLE for e in events):
            task = loop.create_task(self._offer_waiting())
            self._pop_tasks.add(task)
            task.add_done_callback(self._pop_tasks.discard)

    async def handle(self, events: Sequence[DomainEvent]) -> None:
        async with self._writer.use() as conn, conn.begin():
            new = await store.persist(conn, events)
            if new:
                await event_log.append(conn, [to_new_event(e, "asterisk") for e in new])
        if new:
            self.hub.poke()

    def unavailable(self, exc: BaseException) -> bool:
        """The database is away (down, restarting, unreachable), not the events at fault."""
        if isinstance(exc, OSError | TimeoutError | sa_exc.InterfaceError
                      | sa_exc.OperationalError):
            return True
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
        state = getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(
            exc, "sqlstate", None)
        # 08: connection exception; 57: operator intervention (shutdown, cannot connect now)
        return isinstance(state, str) and state[:2] in ("08", "57")

    async def health_changed(self, health: Health) -> None:
        self.pops.broadcast({"type": "telephony_health", **health.as_json()})
        # only flips go to the log (ok <-> degraded); the reason is in /health at any time
        if health.status == self._logged_status:
            return
        self._logged_status = health.status
        async with self.engine.begin() as conn:
            await event_log.append(
                conn,
                [NewEvent("telephony.health", "telephony", "ami", health.as_json(), "asterisk")],
            )
        self.hub.poke()

    async def health_check(self) -> PartHealth:
        h = self.health
        reason = h.reason or (f"AMI {self.config.ami.host}:{self.config.ami.port}, "
                              f"{len(self.bridge.tracker.live_calls())} live calls")
        if self.bridge.warnings:
            reason += "; warning: " + "; ".join(self.bridge.warnings)
        return PartHealth(h.status, reason)

    # ------------------------------------------------------------------ screen pop

    async def build_pop(self, conn: AsyncConnection, call: CallView, seat: str) -> dict[str, Any]:
        """The screen pop: one round trip for history and location (two for a report)."""
        context: dict[str, Any] = {"earlier_calls": [], "earlier_incidents": [], "location": None}
        if call.number:
            context = await self._context_for(conn, call.number, call.id)
        report = None
        if call.kind != "voice":
            rep = await store.report_of(conn, call.id)
            report = plain_row(rep) if rep else None
        return self.compose_pop(call, seat, context, report)

    def compose_pop(
        self, call: CallView, seat: str, context: dict[str, Any], report: dict[str, Any] | None
    ) -> dict[str, Any]:
        location = context["location"]
        if location is None and call.location is not None:
            lat, lon, accuracy = call.location
            location = {"lat": lat, "lon": lon, "accuracy_m": accuracy, "source": "channel"}
        if report and report.get("lat") is not None and location is None:
            location = {"lat": report["lat"], "lon": report["lon"], "source": call.kind}
        draft = {
            "call_id": call.id,
            "source": call.kind,
            "caller_name": call.name or "",
            "caller_phone": call.number or "",
            "location": location,
            "address": (report or {}).get("address") or "",
            "summary": (report or {}).get("body") or "",
        }
        return {
            "type": "screen_pop",
            "seat": seat,
            "call": call.as_json(),
            "caller": {"number": call.number, "name": call.name},
            "earlier_calls": context["earlier_calls"],
            "earlier_incidents": context["earlier_incidents"],
            "history_window_days": self.config.history_days,
            "location": location,
            "report": report,
            "incident_draft": draft,
            "history_pending": False,
        }

    async def _history(self, conn: AsyncConnection, number: str, call_id: str) -> dict[str, Any]:
        now = self.clock()
        row = (await conn.execute(POP_SQL, {
            "number": normal_number(number),
            "since": now - timedelta(days=self.config.history_days),
            "id": call_id,
            "loc_since": now - timedelta(minutes=self.config.location_minutes),
        })).one()
        return {"earlier_calls": decoded(row.calls) or [],
                "earlier_incidents": decoded(row.incidents) or [],
                "location": decoded(row.location)}

    def _reader(self) -> HeldConnection:
        """A free held connection for a lookup, else the next in turn."""
        for reader in self._readers:
            if not reader.busy:
                return reader
        self._next_reader = (self._next_reader + 1) % len(self._readers)
        return self._readers[self._next_reader]

    async def _lookup(self, number: str, call_id: str) -> dict[str, Any]:
        async with self._reader().use() as conn:
            return await self._history(conn, number, call_id)

    async def _context_for(
        self, conn: AsyncConnection, number: str, call_id: str
    ) -> dict[str, Any]:
        """The history looked up when the call was queued, or a fresh lookup."""
        pending = self._context.get(call_id)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except Exception:
                log.warning("history lookup for %s failed; looking again", call_id)
        return await self._history(conn, number, call_id)

    async def _pop(self, call: CallView) -> None:
        """Send the pop; a voice call's pop waits at most ``pop_wait`` for the caller's
        history: if the lookup is slower, the pop leaves without it (``history_pending``) and
        a ``screen_pop_history`` message follows as soon as it is there."""
        seat = call.seat
        if seat is None:  # (built even when no console here watches: one elsewhere may)
            return
        t_start = time.monotonic()
        trace = self.bridge.offer_arrivals
        arrived = trace.pop(call.id, None) if trace is not None else None
        try:
            if call.kind != "voice":
                async with self._reader().use() as conn:
                    pop = await self.build_pop(conn, call, seat)
                self._publish(seat, pop, arrived, t_start)
                return
            pending = self._context.get(call.id)
            if pending is None and call.number:
                pending = asyncio.get_running_loop().create_task(self._lookup(call.number, call.id))
                self._context[call.id] = pending
            if pending is not None:
                with contextlib.suppress(TimeoutError, Exception):
                    await asyncio.wait_for(asyncio.shield(pending), self.pop_wait)
            ready = pending is None or (
                pending.done() and not pending.cancelled() and pending.exception() is None
            )
            context = pending.result() if pending is not None and ready else EMPTY_CONTEXT
            pop = self.compose_pop(call, seat, context, None)
            pop["history_pending"] = not ready
            self._publish(seat, pop, arrived, t_start)
            if ready or pending is None:
                return
            context = await asyncio.shield(pending)
            self._publish(
                seat,
                {"type": "screen_pop_history", "seat": seat, "call_id": call.id, **context},
                arrived,
                t_start,
            )
        except Exception:
            log.exception("screen pop for call %s on %s could not be built", call.id, seat)

    def sent(self, message: dict[str, Any]) -> None:
        """A pop left on a console websocket (benchmark tracing: AgentCalled -> sent)."""
        if self.sent_latencies is not None and "_arrived" in message:
            kind = "pop" if message.get("type") == "screen_pop" else "history"
            if kind == "pop" and message.get("history_pending"):
                kind = "pop_pending"
            self.sent_latencies.append(
                (kind, (time.monotonic() - float(message["_arrived"])) * 1000)
            )

    def _publish(
        self, seat: str, message: dict[str, Any], arrived: float | None, t_start: float
    ) -> None:
        if arrived is not None:
            # benchmark tracing: where the time of a pop goes
            message["_arrived"] = arrived
            message["_trace"] = {"noticed": t_start, "built": time.monotonic()}
        self.pops.publish(seat, message)
        if seat not in self._watched_elsewhere:
            return
        plain = json.loads(json.dumps(
            {k: v for k, v in message.items() if not k.startswith("_")}, default=str))
        self._relay_out.append((seat, plain))
        self._relay_wake.set()

    async def watch(self, seat: str) -> asyncio.Queue[dict[str, Any]]:
        """A console follows a seat here; the other processes are told, so that the one
        running the bridge sends this seat's pops through the event log."""
        queue = self.pops.subscribe(seat)
        await self._tell_console(seat, True)
        return queue

    async def unwatch(self, seat: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.pops.unsubscribe(seat, queue)
        if not self.pops.watched(seat):
            await self._tell_console(seat, False)

    async def _tell_console(self, seat: str, watching: bool) -> None:
        try:
            async with self.engine.begin() as conn:
                await event_log.append(conn, [NewEvent(
                    "telephony.console", "seat", seat,
                    {"process": self._process, "watching": watching}, "asterisk")])
            self.hub.poke()
        except Exception:
            log.warning("other processes not told of the console on %s", seat, exc_info=True)

    async def current_pops(self, seat: str) -> list[dict[str, Any]]:
        """Pops for what is ringing or connected on a seat now (a console that reconnects)."""
        views: list[CallView] = [
            c.view()
            for c in self.bridge.tracker.calls.values()
            if c.seat == seat and c.state in ("offered", "answered")
        ]
        async with self.engine.connect() as conn:
            views.extend(await store.reports_on_seat(conn, seat))
            return [await self.build_pop(conn, v, seat) for v in views]

    # ------------------------------------------------------------------ seats

    async def sign_in(
        self,
        username: str,
        interface: str,
        name: str,
        queues: Sequence[str],
        paused: bool,
        reason: str | None,
    ) -> None:
        self.bridge.check_interface(interface)
        async with request_audit.transaction(self.engine) as conn:
            before = await store.seat_user(conn, interface)
            await store.bind_user(conn, interface, name, username, self.clock())
        try:
            await self.bridge.sign_in(interface, name, queues, paused, reason)
        except Exception:
            async with self.engine.begin() as conn:
                await store.bind_user(conn, interface, name, before or "", self.clock())
            raise

    async def seat_owner(self, interface: str) -> str | None:
        async with self.engine.connect() as conn:
            return await store.seat_user(conn, interface)

    async def seats(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = {r["interface"]: r for r in await store.seat_rows(conn)}
        out = []
        for interface in sorted(set(rows) | set(self.bridge.tracker.seats)):
            live = self.bridge.tracker.seats.get(interface)
            row = rows.get(interface, {})
            view = (
                live.view().as_json()
                if live
                else {
                    "interface": interface,
                    "name": row.get("name"),
                    "state": row.get("state"),
                    "queues": row.get("queues"),
                    "paused": row.get("paused"),
                    "pause_reason": row.get("pause_reason"),
                    "call": row.get("call_id"),
                    "ringing_call": row.get("ringing_call_id"),
                    "stale": True,
                }
            )
            view["username"] = row.get("username")
            out.append(view)
        return out

    # ------------------------------------------------------------------ calls

    async def call_detail(self, call_id: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            row = plain_row(await store.get_call(conn, call_id))
            row["transitions"] = [plain_row(t) for t in await store.transitions_of(conn, call_id)]
            row["recordings"] = [plain_row(r) for r in await store.recordings_of(conn, [call_id])]
            report = await store.report_of(conn, call_id)
            row["report"] = plain_row(report) if report else None
        return row

    def live_calls(self) -> list[dict[str, Any]]:
        return [c.view().as_json() for c in self.bridge.tracker.live_calls()]

    # ------------------------------------------------------------------ who may act where

    async def check_seat(self, who: Principal, interface: str) -> None:
        """A call-taker acts on their own seat; supervisors and admins on any."""
        if who.has_any(SUPERVISORS):
            return
        owner = await self.seat_owner(interface)
        if owner != who.name:
            raise Forbidden(
                f"{interface} is not the seat {who.name} is signed in on",
                code="seat.not_own",
                seat=interface,
                user=who.name,
            )

    async def check_call(self, who: Principal, call_id: str) -> None:
        """A call-taker acts on calls on their own seat; supervisors on any."""
        call = self.bridge.call(call_id)
        if call.seat:
            await self.check_seat(who, call.seat)
        elif not who.has_any(SUPERVISORS):
            raise Forbidden(
                f"call {call_id} is not on a seat of {who.name}",
                code="call.not_own",
                call_id=call_id,
                user=who.name,
            )

    async def check_sign_in(self, who: Principal, interface: str) -> None:
        """Nobody signs in on a seat someone else is working on (supervisors may)."""
        owner = await self.seat_owner(interface)
        if owner and owner != who.name and not who.has_any(SUPERVISORS):
            seat = self.bridge.tracker.seats.get(interface)
            if seat is not None and seat.queues:
                raise Forbidden(
                    f"{owner} is signed in on {interface}",
                    code="seat.taken",
                    seat=interface,
                    owner=owner,
                )

    # ------------------------------------------------------------------ call-centre actions

    async def _audit(
        self, origin: Origin, action: str, object_type: str, object_id: str, **detail: Any
    ) -> None:
        """Who listened in, hung up, transferred ... from where."""
        async with self.engine.begin() as conn:
            await _record(conn, origin, action, object_type, object_id, **detail)

    async def _audit_request(self) -> None:
        """The request's audit row, for a change Asterisk holds (no row of ours changes): once
        Asterisk has taken it, as the call-centre actions above."""
        async with request_audit.transaction(self.engine):
            pass

    async def pause(self, interface: str, reason: str) -> None:
        await self.bridge.pause(interface, reason)
        await self._audit_request()

    async def resume(self, interface: str) -> None:
        await self.bridge.resume(interface)
        await self._audit_request()

    async def sign_out(self, interface: str) -> None:
        await self.bridge.sign_out(interface)
        await self._audit_request()

    async def transfer(
        self, call_id: str, exten: str, context: str | None, attended: bool, origin: Origin
    ) -> None:
        await self.bridge.transfer(call_id, exten, context, attended)
        await self._audit(
            origin, "transfer", "call", call_id, exten=exten, context=context, attended=attended
        )

    async def consult(self, call_id: str, helper: str, origin: Origin) -> None:
        await self.bridge.consult(call_id, helper)
        await self._audit(origin, "consult", "call", call_id, helper=helper)

    async def conference(self, call_id: str, helper: str, origin: Origin) -> None:
        await self.bridge.conference(call_id, helper)
        await self._audit(origin, "conference", "call", call_id, helper=helper)

    async def spy(self, call_id: str, supervisor: str, mode: SpyMode, origin: Origin) -> None:
        await self.bridge.spy(call_id, supervisor, mode)
        await self._audit(origin, "spy", "call", call_id, mode=mode, supervisor=supervisor)

    async def grab(self, call_id: str, interface: str, origin: Origin) -> None:
        await self.bridge.grab(call_id, interface)
        await self._audit(origin, "grab", "call", call_id, seat=interface)

    async def hangup(self, call_id: str, origin: Origin) -> None:
        await self.bridge.hangup(call_id)
        await self._audit(origin, "hangup", "call", call_id)

    async def call_back(self, interface: str, number: str, origin: Origin,
                        call_id: str | None = None,
                        incident_id: int | None = None) -> tuple[str, str]:
        """Dial the number from the seat; the outbound call is tracked, linked to the call it
        answers and to the incident (whose calls then list it)."""
        async with self.engine.connect() as conn:
            if call_id is not None:
                await store.get_call(conn, call_id)
            if incident_id is not None:
                await incident_store.get(conn, incident_id)
        action, made = await self.bridge.call_back(interface, number, origin_call=call_id,
                                                   incident=incident_id)
        # The link to the incident and the audit row commit together.
        async with self.engine.begin() as conn:
            if incident_id is not None:
                await incident_store.link_call(conn, incident_id, made, None, number,
                                               self.clock(), origin.actor)
            await _record(conn, origin, "call_back", "seat", interface, number=number,
                          call=made, origin_call=call_id, incident=incident_id)
        return action, made

    def link_status(self) -> dict[str, Any]:
        """The AMI link: health, connection, live calls, resyncs and overflows so far."""
        stats = self.bridge.stats
        health = self.health.as_json()
        return {
            **health,
            "reason": health["reason"] or "",
            "connected": self.bridge.connected,
            "live_calls": len(self.bridge.tracker.live_calls()),
            "resyncs": stats.resyncs,
            "overflows": stats.overflows,
            "skipped": self.bridge.tracker.skipped,
            "role": self.holder.role,
            "warnings": list(self.bridge.warnings),
            "held_in_memory": self.bridge.held[0],
            "held_in_spool": self.bridge.held[1],
        }

    @property
    def intake_queue(self) -> str:
        """The queue text and alarm reports enter."""
        return self.config.ami.queues[0] if self.config.ami.queues else "emergency"

    async def start_recording(self, call_id: str, actor: str) -> dict[str, Any]:
        call = self.bridge.call(call_id)
        if call.kind != CallKind.VOICE:
            raise Conflict(
                f"{call_id} is a {call.kind}; only voice calls are recorded",
                code="call.not_voice",
                call_id=call_id,
                kind=str(call.kind),
            )
        file = await self.bridge.start_recording(call_id)
        now = self.clock()
        async with request_audit.transaction(self.engine) as conn:
            rec_id = await store.add_recording(conn, call_id, file, now, actor)
            await event_log.append(
                conn,
                [
                    NewEvent(
                        "call.recording_started",
                        "call",
                        call_id,
                        {"recording_id": rec_id, "file": file},
                        actor,
                    )
                ],
            )
        self.hub.poke()
        return {"id": rec_id, "call_id": call_id, "file": file, "started_at": now.isoformat()}

    async def stop_recording(self, call_id: str, actor: str) -> int:
        await self.bridge.stop_recording(call_id)
        async with request_audit.transaction(self.engine) as conn:
            stopped = await store.stop_recordings(conn, call_id, self.clock())
            await event_log.append(
                conn,
                [NewEvent("call.recording_stopped", "call", call_id, {"stopped": stopped}, actor)],
            )
        self.hub.poke()
        return stopped

    async def statistics(
        self, since: datetime, until: datetime
    ) -> tuple[dict[str, Figures], dict[str, Figures]]:
        if until <= since:
            raise InvalidRequest(
                "'until' must be after 'since'",
                code="stats.window_empty",
                since=since.isoformat(),
                until=until.isoformat(),
            )
        async with self.engine.connect() as conn:
            return await store.statistics(conn, since, until)

    # ------------------------------------------------------------------ intake

    async def push_location(
        self, number: str, lat: float, lon: float, accuracy_m: float | None, source: str
    ) -> int:
        async with request_audit.transaction(self.engine) as conn:
            loc_id = await store.push_location(
                conn, number, lat, lon, accuracy_m, source, self.clock()
            )
            await event_log.append(
                conn,
                [
                    NewEvent(
                        "caller.location",
                        "caller",
                        number,
                        {"lat": lat, "lon": lon, "accuracy_m": accuracy_m, "source": source},
                        f"device:{source}",
                    )
                ],
            )
        self.hub.poke()
        return loc_id

    def _available_seat(self, exclude_busy_with_reports: bool = False) -> str | None:
        busy = set(self._report_seats.values()) if exclude_busy_with_reports else set()
        free = sorted(
            s.interface
            for s in self.bridge.tracker.seats.values()
            if s.state == SeatState.AVAILABLE and s.interface not in busy
        )
        if not free:
            return None
        self._rr = (self._rr + 1) % len(free)
        return free[self._rr]

    async def intake(self, report: Report, actor: str) -> dict[str, Any]:
        """Store the report, queue it, and offer it to an available seat if there is one."""
        now = self.clock()
        async with request_audit.transaction(self.engine) as conn:
            call_id, new = await store.intake(conn, report, now, actor)
            if new:
                await event_log.append(conn, [to_new_event(e, actor) for e in new])
        if not new:
            return {"call_id": call_id, "duplicate": True, "offered_to": None}
        self.hub.poke()
        seat = self._available_seat(exclude_busy_with_reports=True)
        if seat is not None:
            await self.move_report(call_id, "offered", seat, "system:intake")
        return {"call_id": call_id, "duplicate": False, "offered_to": seat}

    async def _offer_waiting(self) -> None:
        """Offer text/alarm reports that waited for a free seat, oldest first."""
        async with self._offering:
            try:
                async with self.engine.connect() as conn:
                    waiting = await store.waiting_reports(conn)
                for call_id in waiting:
                    seat = self._available_seat(exclude_busy_with_reports=True)
                    if seat is None:
                        return
                    await self.move_report(call_id, "offered", seat, "system:intake")
            except Exception:
                log.exception("waiting reports could not be offered")

    async def move_report(self, call_id: str, to: str, seat: str | None, actor: str) -> None:
        async with request_audit.transaction(self.engine) as conn:
            new = await store.move_report(conn, call_id, to, seat, self.clock())
            await event_log.append(conn, [to_new_event(e, actor) for e in new])
        self.hub.poke()
        for event in new:
            if isinstance(event, CallTransitioned):
                if event.to_state in ("offered", "answered") and event.call.seat:
                    self._report_seats[call_id] = event.call.seat
                else:
                    self._report_seats.pop(call_id, None)
            if isinstance(event, CallTransitioned) and event.to_state == "offered":
                await self._pop(event.call)


async def _record(
    conn: AsyncConnection,
    origin: Origin,
    action: str,
    object_type: str,
    object_id: str,
    **detail: Any,
) -> None:
    """The audit row of a call-centre action, in the caller's transaction."""
    await audit.record(
        conn,
        actor=origin.actor,
        action=f"telephony.{action}",
        object_type=object_type,
        object_id=object_id,
        source=origin.source,
        result="ok",
        detail=detail,
    )
