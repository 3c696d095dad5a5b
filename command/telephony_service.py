"""Telephony glue: the bridge's consumer, the screen-pop hub, and the call-centre operations.

What the bridge learns is persisted (``telephony.store``) and appended to the event log in one
transaction, then the hub is poked. When a call or report is offered to a seat (or grabbed by
one), a screen pop is built (caller, earlier calls and incidents from the number within
``history_days``, a known location, an incident draft) and handed to the consoles that watch
that seat: the ``/api/v1/telephony/ws`` websocket of the call-taker signed in on it.

Health changes of the AMI link are recorded as ``telephony.health`` events, so consoles are
told; text and alarm intake never needs Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import events as event_log
from command.eventhub import EventHub
from command.events import NewEvent
from telephony import store
from telephony.bridge import AmiSettings, Bridge, Health, SpyMode
from telephony.calls import CallKind, CallTransitioned, CallUpdated, CallView
from telephony.errors import Conflict, InvalidRequest, NotFound
from telephony.seats import SeatChanged, SeatState
from telephony.stats import Figures
from telephony.tracker import DomainEvent

if TYPE_CHECKING:
    from command.bootstrap import Container, PartHealth
    from command.settings import Settings

log = logging.getLogger(__name__)

POP_QUEUE = 200


@dataclass(frozen=True)
class TelephonyConfig:
    ami: AmiSettings
    enabled: bool = True
    history_days: float = 30.0
    location_minutes: float = 60.0


def config_from(settings: Settings) -> TelephonyConfig:
    """Plain values from the one Settings object."""
    queues = tuple(q.strip() for q in settings.ami_queues.split(",") if q.strip())
    return TelephonyConfig(
        ami=AmiSettings(
            host=settings.ami_host, port=settings.ami_port, username=settings.ami_username,
            secret=settings.ami_secret, queues=queues,
            transfer_context=settings.ami_transfer_context,
            outgoing_context=settings.ami_outgoing_context,
            recording_dir=settings.ami_recording_dir,
        ),
        enabled=settings.ami_enabled,
        history_days=settings.telephony_history_days,
        location_minutes=settings.telephony_location_minutes,
    )


class HeldConnection:
    """One long-lived connection used by one task at a time; reopened after an error."""

    def __init__(self, engine: AsyncEngine, autocommit: bool = False) -> None:
        self.engine = engine
        self.autocommit = autocommit
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def use(self) -> AsyncIterator[AsyncConnection]:
        async with self._lock:
            if self._conn is None or self._conn.closed:
                conn = await self.engine.connect()
                if self.autocommit:
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                self._conn = conn
            try:
                yield self._conn
            except BaseException:
                with contextlib.suppress(Exception):
                    await self._conn.close()
                self._conn = None
                raise

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    await self._conn.close()
                self._conn = None


class PopHub:
    """Screen pops per seat interface, to every console watching that seat."""

    def __init__(self) -> None:
        self._subs: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self.sent = 0

    def subscribe(self, interface: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(POP_QUEUE)
        self._subs.setdefault(interface, set()).add(queue)
        return queue

    def unsubscribe(self, interface: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        subs = self._subs.get(interface)
        if subs is not None:
            subs.discard(queue)
            if not subs:
                del self._subs[interface]

    def broadcast(self, message: dict[str, Any]) -> None:
        """To every console (telephony health changes)."""
        for interface in list(self._subs):
            self.publish(interface, message)

    def watched(self, interface: str) -> bool:
        return bool(self._subs.get(interface))

    def publish(self, interface: str, message: dict[str, Any]) -> int:
        delivered = 0
        for queue in tuple(self._subs.get(interface, ())):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()  # a stuck console loses its oldest pop, not the newest
            queue.put_nowait(message)
            delivered += 1
        self.sent += delivered
        return delivered


def to_new_event(event: DomainEvent, actor: str | None = None) -> NewEvent:
    if isinstance(event, CallTransitioned):
        return NewEvent(event.type, "call", event.call.id,
                        {"call": event.call.as_json(), "from": event.from_state,
                         "detail": dict(event.detail)}, actor)
    if isinstance(event, CallUpdated):
        return NewEvent(event.type, "call", event.call.id,
                        {"call": event.call.as_json(), "detail": dict(event.detail)}, actor)
    return NewEvent(event.type, "seat", event.seat.interface,
                    {"seat": event.seat.as_json(), "detail": dict(event.detail)}, actor)


@dataclass
class _Timing:
    pops: list[float] = field(default_factory=list)


class TelephonyService:
    """The consumer of the bridge, and what the telephony routes call."""

    def __init__(self, engine: AsyncEngine, hub: EventHub, config: TelephonyConfig,
                 clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.hub = hub
        self.config = config
        self.clock = clock
        self.bridge = Bridge(config.ami, self, clock)
        self.pops = PopHub()
        self._rr = 0
        self._logged_status = "degraded"
        self._pop_tasks: set[asyncio.Task[None]] = set()
        # held connections: the writer's batches and the pops' lookups skip pool checkout
        self._writer = HeldConnection(engine)
        self._readers = [HeldConnection(engine, autocommit=True) for _ in range(4)]
        self._next_reader = 0
        self._offering = asyncio.Lock()
        self.pop_wait = 0.02  # seconds a pop may wait for the caller's history
        self.sent_latencies: list[tuple[str, float]] | None = None  # benchmarks only
        self._report_seats: dict[str, str] = {}  # report call id -> seat it is offered to
        self._context: dict[str, asyncio.Task[dict[str, Any]]] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self.config.enabled:
            await self.bridge.start()

    async def stop(self) -> None:
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
            elif call.seat and (event.to_state == "offered" or (
                    event.to_state == "answered" and event.detail.get("grabbed"))):
                task = loop.create_task(self._pop(call))
                self._pop_tasks.add(task)
                task.add_done_callback(self._pop_tasks.discard)
            elif event.to_state == "ended":
                self._context.pop(call.id, None)  # a lookup still running just finishes
        if any(isinstance(e, SeatChanged) and e.seat.state == SeatState.AVAILABLE
               for e in events):
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

    async def health_changed(self, health: Health) -> None:
        self.pops.broadcast({"type": "telephony_health", **health.as_json()})
        # only flips go to the log (ok <-> degraded); the reason is in /health at any time
        if health.status == self._logged_status:
            return
        self._logged_status = health.status
        async with self.engine.begin() as conn:
            await event_log.append(conn, [NewEvent(
                "telephony.health", "telephony", "ami", health.as_json(), "asterisk")])
        self.hub.poke()

    async def health_check(self) -> PartHealth:
        from command.bootstrap import PartHealth

        h = self.health
        return PartHealth(h.status, h.reason or f"AMI {self.config.ami.host}:"
                          f"{self.config.ami.port}, {len(self.bridge.tracker.live_calls())} "
                          "live calls")

    # ------------------------------------------------------------------ screen pop

    async def build_pop(self, conn: AsyncConnection, call: CallView,
                        seat: str) -> dict[str, Any]:
        """The screen pop: one round trip for history and location (two for a report)."""
        context: dict[str, Any] = {"earlier_calls": [], "earlier_incidents": [],
                                   "location": None}
        if call.number:
            context = await self._context_for(conn, call.number, call.id)
        report = None
        if call.kind != "voice":
            rep = await store.report_of(conn, call.id)
            report = _json(rep) if rep else None
        return self.compose_pop(call, seat, context, report)

    def compose_pop(self, call: CallView, seat: str, context: dict[str, Any],
                    report: dict[str, Any] | None) -> dict[str, Any]:
        location = context["location"]
        if location is None and call.location is not None:
            lat, lon, accuracy = call.location
            location = {"lat": lat, "lon": lon, "accuracy_m": accuracy, "source": "channel"}
        if report and report.get("lat") is not None and location is None:
            location = {"lat": report["lat"], "lon": report["lon"], "source": call.kind}
        draft = {
            "call_id": call.id, "source": call.kind,
            "caller_name": call.name or "", "caller_phone": call.number or "",
            "location": location,
            "address": (report or {}).get("address") or "",
            "summary": (report or {}).get("body") or "",
        }
        return {"type": "screen_pop", "seat": seat, "call": call.as_json(),
                "caller": {"number": call.number, "name": call.name},
                "earlier_calls": context["earlier_calls"],
                "earlier_incidents": context["earlier_incidents"],
                "history_window_days": self.config.history_days,
                "location": location, "report": report, "incident_draft": draft,
                "history_pending": False}

    async def _history(self, conn: AsyncConnection, number: str,
                       call_id: str) -> dict[str, Any]:
        now = self.clock()
        row = (await conn.execute(POP_SQL, {
            "number": number, "since": now - timedelta(days=self.config.history_days),
            "id": call_id,
            "loc_since": now - timedelta(minutes=self.config.location_minutes),
        })).one()
        return {"earlier_calls": _decoded(row.calls) or [],
                "earlier_incidents": _decoded(row.incidents) or [],
                "location": _decoded(row.location)}

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

    async def _context_for(self, conn: AsyncConnection, number: str,
                           call_id: str) -> dict[str, Any]:
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
        if seat is None or not self.pops.watched(seat):
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
                pending = asyncio.get_running_loop().create_task(
                    self._lookup(call.number, call.id))
                self._context[call.id] = pending
            if pending is not None:
                with contextlib.suppress(TimeoutError, Exception):
                    await asyncio.wait_for(asyncio.shield(pending), self.pop_wait)
            ready = pending is None or (pending.done() and not pending.cancelled()
                                        and pending.exception() is None)
            context = pending.result() if pending is not None and ready else EMPTY_CONTEXT
            pop = self.compose_pop(call, seat, context, None)
            pop["history_pending"] = not ready
            self._publish(seat, pop, arrived, t_start)
            if ready or pending is None:
                return
            context = await asyncio.shield(pending)
            self._publish(seat, {"type": "screen_pop_history", "seat": seat,
                                 "call_id": call.id, **context}, arrived, t_start)
        except Exception:
            log.exception("screen pop for call %s on %s could not be built", call.id, seat)

    def sent(self, message: dict[str, Any]) -> None:
        """A pop left on a console websocket (benchmark tracing: AgentCalled -> sent)."""
        if self.sent_latencies is not None and "_arrived" in message:
            kind = "pop" if message.get("type") == "screen_pop" else "history"
            if kind == "pop" and message.get("history_pending"):
                kind = "pop_pending"
            self.sent_latencies.append(
                (kind, (time.monotonic() - float(message["_arrived"])) * 1000))

    def _publish(self, seat: str, message: dict[str, Any], arrived: float | None,
                 t_start: float) -> None:
        if arrived is not None:
            # benchmark tracing: where the time of a pop goes
            message["_arrived"] = arrived
            message["_trace"] = {"noticed": t_start, "built": time.monotonic()}
        self.pops.publish(seat, message)

    async def current_pops(self, seat: str) -> list[dict[str, Any]]:
        """Pops for what is ringing or connected on a seat now (a console that reconnects)."""
        views: list[CallView] = [
            c.view() for c in self.bridge.tracker.calls.values()
            if c.seat == seat and c.state in ("offered", "answered")]
        async with self.engine.connect() as conn:
            views.extend(await store.reports_on_seat(conn, seat))
            return [await self.build_pop(conn, v, seat) for v in views]

    # ------------------------------------------------------------------ seats

    async def sign_in(self, username: str, interface: str, name: str,
                      queues: Sequence[str], paused: bool, reason: str | None) -> None:
        self.bridge.check_interface(interface)
        async with self.engine.begin() as conn:
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
            view = live.view().as_json() if live else {
                "interface": interface, "name": row.get("name"), "state": row.get("state"),
                "queues": row.get("queues"), "paused": row.get("paused"),
                "pause_reason": row.get("pause_reason"), "call": row.get("call_id"),
                "ringing_call": row.get("ringing_call_id"), "stale": True}
            view["username"] = row.get("username")
            out.append(view)
        return out

    # ------------------------------------------------------------------ calls

    async def call_detail(self, call_id: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            row = _json(await store.get_call(conn, call_id))
            row["transitions"] = [_json(t) for t in await store.transitions_of(conn, call_id)]
            row["recordings"] = [_json(r) for r in await store.recordings_of(conn, [call_id])]
            report = await store.report_of(conn, call_id)
            row["report"] = _json(report) if report else None
        return row

    def live_calls(self) -> list[dict[str, Any]]:
        return [c.view().as_json() for c in self.bridge.tracker.live_calls()]

    async def transfer(self, call_id: str, exten: str, context: str | None,
                       attended: bool, actor: str) -> None:
        await self.bridge.transfer(call_id, exten, context, attended)

    async def consult(self, call_id: str, helper: str) -> None:
        await self.bridge.consult(call_id, helper)

    async def conference(self, call_id: str, helper: str) -> None:
        await self.bridge.conference(call_id, helper)

    async def spy(self, call_id: str, supervisor: str, mode: SpyMode) -> None:
        await self.bridge.spy(call_id, supervisor, mode)

    async def grab(self, call_id: str, interface: str) -> None:
        await self.bridge.grab(call_id, interface)

    async def hangup(self, call_id: str) -> None:
        await self.bridge.hangup(call_id)

    async def call_back(self, interface: str, number: str) -> str:
        return await self.bridge.call_back(interface, number)

    async def start_recording(self, call_id: str, actor: str) -> dict[str, Any]:
        call = self.bridge.call(call_id)
        if call.kind != CallKind.VOICE:
            raise Conflict(f"{call_id} is a {call.kind}; only voice calls are recorded")
        file = await self.bridge.start_recording(call_id)
        now = self.clock()
        async with self.engine.begin() as conn:
            rec_id = await store.add_recording(conn, call_id, file, now, actor)
            await event_log.append(conn, [NewEvent(
                "call.recording_started", "call", call_id,
                {"recording_id": rec_id, "file": file}, actor)])
        self.hub.poke()
        return {"id": rec_id, "call_id": call_id, "file": file, "started_at": now.isoformat()}

    async def stop_recording(self, call_id: str, actor: str) -> int:
        await self.bridge.stop_recording(call_id)
        async with self.engine.begin() as conn:
            stopped = await store.stop_recordings(conn, call_id, self.clock())
            await event_log.append(conn, [NewEvent(
                "call.recording_stopped", "call", call_id, {"stopped": stopped}, actor)])
        self.hub.poke()
        return stopped

    async def statistics(self, since: datetime,
                         until: datetime) -> tuple[dict[str, Figures], dict[str, Figures]]:
        if until <= since:
            raise InvalidRequest("'until' must be after 'since'")
        async with self.engine.connect() as conn:
            return await store.statistics(conn, since, until)

    # ------------------------------------------------------------------ intake

    async def push_location(self, number: str, lat: float, lon: float,
                            accuracy_m: float | None, source: str) -> int:
        async with self.engine.begin() as conn:
            loc_id = await store.push_location(conn, number, lat, lon, accuracy_m, source,
                                               self.clock())
            await event_log.append(conn, [NewEvent(
                "caller.location", "caller", number,
                {"lat": lat, "lon": lon, "accuracy_m": accuracy_m, "source": source},
                f"device:{source}")])
        self.hub.poke()
        return loc_id

    def _available_seat(self, exclude_busy_with_reports: bool = False) -> str | None:
        busy = set(self._report_seats.values()) if exclude_busy_with_reports else set()
        free = sorted(s.interface for s in self.bridge.tracker.seats.values()
                      if s.state == SeatState.AVAILABLE and s.interface not in busy)
        if not free:
            return None
        self._rr = (self._rr + 1) % len(free)
        return free[self._rr]

    async def intake(self, report: store.Report, actor: str) -> dict[str, Any]:
        """Store the report, queue it, and offer it to an available seat if there is one."""
        now = self.clock()
        async with self.engine.begin() as conn:
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
        async with self.engine.begin() as conn:
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


EMPTY_CONTEXT: dict[str, Any] = {"earlier_calls": [], "earlier_incidents": [], "location": None}
POP_SQL = sa.text("""
SELECT
  (SELECT coalesce(json_agg(c), '[]'::json) FROM (
     SELECT id, kind, state, queued_at, answered_at, seat, complete_reason FROM calls
     WHERE number = :number AND queued_at >= :since AND id <> :id
     ORDER BY queued_at DESC LIMIT 20) c) AS calls,
  (SELECT coalesce(json_agg(i), '[]'::json) FROM (
     SELECT id, number, type_code, status, address, created_at FROM incidents
     WHERE caller_phone = :number AND created_at >= :since
     ORDER BY created_at DESC LIMIT 10) i) AS incidents,
  (SELECT row_to_json(l) FROM (
     SELECT lat, lon, accuracy_m, source, at FROM caller_locations
     WHERE number = :number AND at >= :loc_since ORDER BY at DESC LIMIT 1) l) AS location
""")


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def pop_latency_ms(pop: dict[str, Any]) -> float | None:
    t = pop.get("_arrived")
    return None if t is None else (time.monotonic() - float(t)) * 1000


async def start_telephony(container: Container) -> TelephonyService:
    """Build and start the service, register its health check and its stop hook."""
    service = TelephonyService(container.engine, container.hub, config_from(container.settings),
                               lambda: container.clock())
    container.telephony = service
    container.health_checks["telephony"] = service.health_check
    container.on_stop.append(service.stop)
    await service.start()
    return service


def require(container: Container) -> TelephonyService:
    service = container.telephony
    if service is None:
        raise NotFound("telephony is not set up in this process")
    return service


async def start_demo_simulator(
    settings: Settings, seats: Sequence[str] = (), calls_per_minute: float = 4.0,
) -> tuple[Settings, Callable[[], Awaitable[None]]]:
    """For ``cad demo``: an AMI simulator on a free port with a steady flow of calls.

    Returns the settings pointing the bridge at it, and a stop function. Seats listed are
    signed in from the switch side; otherwise call-takers sign in from their consoles.
    """
    from telephony.simulator import AmiSimulator

    queues = [q.strip() for q in settings.ami_queues.split(",") if q.strip()] or ["emergency"]
    secret = settings.ami_secret or "cadsecret"
    sim = AmiSimulator(settings.ami_host, 0, settings.ami_username, secret, queues)
    port = await sim.start()
    for n, interface in enumerate(seats):
        sim.add_member(interface, f"Seat {n + 1}", queues[0])
    flow = asyncio.get_running_loop().create_task(
        sim.flow(calls_per_minute / 60.0, talk=30.0, hold_for=90.0))

    async def stop() -> None:
        flow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flow
        await sim.stop()

    return settings.model_copy(update={"ami_port": port, "ami_secret": secret}), stop
