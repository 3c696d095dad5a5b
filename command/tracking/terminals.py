"""Unit terminals: the sessions of the terminals connected to this process, what they send
(``dispatch.avl.terminal``, protocol version 1), and what is pushed to them.

Each message a terminal sends is rate-limited per device (a token bucket: a flooding terminal
gets error frames and costs no database work), parsed, and answered with an ``ack`` or an
``error`` frame naming the field; the connection stays open after a bad frame. Every
state-changing message carries an idempotency key. A status change, an acknowledgment or a text
message stores its key in the database, in the transaction of the change (committed before the
ack is sent). Positions are idempotent by themselves (a unit's breadcrumb is keyed by its device
time and stored once), so they cost no database round trip of their own: a position's ack is
sent once the batched writer has committed it, and the last ``recent_keys`` position keys of
each device are remembered in this process, so that a replay among them changes nothing and
gets the first answer again (``duplicate: true``); an older replay is taken in again, stored
once, and answered ``duplicate: false``.

Pushes: one subscription to the event hub for the whole process hands each terminal what
concerns its unit: a new assignment (with the incident and the route from the unit's latest
position), the end of an assignment (cancelled, reassigned, diverted), a dispatcher's message.
A sensitive incident's assignment reaches its unit's terminal all the same (the crew needs to
know where to go), and that read is audited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import events, request_audit
from command.auth.roles import Role
from command.auth.service import Principal
from command.dispatching.assignments import Assignments
from command.dispatching.unit_status import UnitStatusReports
from command.errors import CadError, Forbidden
from command.eventhub import EventHub
from command.events import Event, NewEvent
from command.incidents.access import IncidentAccess
from command.incidents.config import IncidentConfig
from command.origin import Origin
from command.tracking import keys
from command.tracking.service import Tracking
from dispatch.avl import terminal
from dispatch.avl.ratelimit import TokenBucket
from dispatch.avl.terminal import AckMsg, FrameError, PositionsMsg, StatusMsg, TextMsg
from dispatch.errors import DispatchError
from dispatch.units import parse_status
from gis.errors import GisError
from gis.routing import RoadGraphs

log = logging.getLogger(__name__)

_KINDS: dict[type, str] = {StatusMsg: "status", AckMsg: "ack", TextMsg: "message"}

V = terminal.VERSION
Frame = dict[str, Any]


@dataclass(frozen=True)
class TerminalPolicy:
    rate_per_s: float = 20.0
    burst: float = 60.0
    key_days: float = 7.0
    outbox: int = 256
    route_timeout_s: float = 3.0
    #: position keys remembered per device, to answer a replay among them as a duplicate
    recent_keys: int = 64


@dataclass(eq=False)
class Session:
    """One open terminal connection."""

    device: str
    unit_id: str
    actor: str
    outbox: asyncio.Queue[Frame]
    #: set when the outbox overflowed: the connection is closed, the terminal reconnects and
    #: gets its current assignment again
    lagged: asyncio.Event = field(default_factory=asyncio.Event)
    #: the terminal's address, for the audit rows of its changes
    source: str = "websocket"

    def push(self, frame: Frame) -> None:
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            self.lagged.set()


#: the first answer to a position key: pending, the count stored, or the answer with refusals
_Recent = asyncio.Future["Frame | None"] | int | Frame


class _Replayed(Exception):
    """The key was stored by a concurrent copy of the message: roll back, answer as a replay."""


def error_frame(exc: CadError | DispatchError | GisError, key: str | None, field: str) -> Frame:
    params = dict(exc.params)
    named = str(params.get("field", "") or field)
    if isinstance(exc, FrameError):
        named = exc.field
    return {
        "v": V,
        "type": "error",
        "key": key,
        "code": exc.code,
        "message": exc.message,
        "field": named,
        "params": {k: v if isinstance(v, int | float | str | bool) or v is None else str(v)
                   for k, v in params.items()},
    }


class Terminals:
    """The unit terminal use cases, built once by the bootstrap."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], datetime],
        hub: EventHub,
        tracking: Tracking,
        unit_status: UnitStatusReports,
        assignments: Assignments,
        access: IncidentAccess,
        roads: RoadGraphs,
        config: IncidentConfig,
        region: str,
        policy: TerminalPolicy = TerminalPolicy(),
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.hub = hub
        self.tracking = tracking
        self.unit_status = unit_status
        self.assignments = assignments
        self.access = access
        self.roads = roads
        self.config = config
        self.region = region
        self.policy = policy
        self._sessions: dict[str, set[Session]] = {}
        self._buckets: dict[str, TokenBucket] = {}
        #: per device, its last position keys: the answer each got (a future until stored; then
        #: the count stored when nothing was refused, the whole answer only when something was)
        self._recent: dict[str, OrderedDict[str, _Recent]] = {}
        self._task: asyncio.Task[None] | None = None
        #: frames refused by the rate limit, per device (health and tests read it)
        self.limited: dict[str, int] = {}
        #: changes answered without their audit row (bugs: the tests read it)
        self.unaudited: list[str] = []

    # ------------------------------------------------------------------ sessions

    async def open(self, principal: Principal, source: str = "websocket") -> Session:
        """A session for a unit's terminal: its token names the unit it reports for."""
        if Role.FIELD_UNIT not in principal.roles:
            raise Forbidden(
                f"{principal.name} is not a unit terminal (role field_unit)",
                code="terminal.not_field_unit",
                name=principal.name,
            )
        # The device is named after its unit: the unit's id or its callsign.
        try:
            unit = await self.unit_status.unit(principal.name)
        except DispatchError:
            found = [u for u in await self.unit_status.units() if u.callsign == principal.name]
            if not found:
                raise Forbidden(
                    f"the terminal {principal.name} is named after no unit",
                    code="terminal.unit_unknown",
                    name=principal.name,
                ) from None
            unit = found[0]
        session = Session(
            principal.name, unit.id, principal.actor, asyncio.Queue(self.policy.outbox),
            source=source,
        )
        self._sessions.setdefault(unit.id, set()).add(session)
        return session

    def close(self, session: Session) -> None:
        held = self._sessions.get(session.unit_id)
        if held is not None:
            held.discard(session)
            if not held:
                del self._sessions[session.unit_id]

    def connected(self, unit_id: str) -> int:
        return len(self._sessions.get(unit_id, ()))

    async def greeting(self, session: Session) -> list[Frame]:
        """What a terminal gets on connect: who it is, and its current assignment."""
        unit = await self.unit_status.unit(session.unit_id)
        hello: Frame = {
            "v": V,
            "type": "hello",
            "unit_id": unit.id,
            "callsign": unit.callsign,
            "status": unit.status.value,
            "server_time": self.clock().isoformat(),
        }
        current = await self.assignment_frame(session.unit_id, "current")
        return [hello, current]

    # ------------------------------------------------------------------ from the terminal

    async def handle(self, session: Session, raw: str | bytes) -> Frame:
        """The answer to one frame: an ``ack``, or an ``error`` naming the field."""
        bucket = self._buckets.setdefault(
            session.device, TokenBucket(self.policy.rate_per_s, self.policy.burst)
        )
        if not bucket.take(time.monotonic()):
            self.limited[session.device] = self.limited.get(session.device, 0) + 1
            wait = round(bucket.wait_s(), 3)
            return {
                "v": V,
                "type": "error",
                "key": None,
                "code": "terminal.rate_limited",
                "message": f"too many messages from {session.device}: "
                f"at most {self.policy.rate_per_s:g} a second; try again in {wait} s",
                "field": "",
                "params": {"device": session.device, "retry_after_s": wait,
                           "rate_per_s": self.policy.rate_per_s},
            }
        key: str | None = None
        field_name = ""
        try:
            msg = terminal.parse(raw)
            key = msg.key
            if isinstance(msg, PositionsMsg):
                field_name = "positions" if msg.batch else "position"
                return await self._positions(session, msg)
            # Positions are not audited one by one (docs/security.md); every other frame
            # changes state and its audit row commits with the change.
            expected = request_audit.expect(
                request_audit.Expected(
                    Origin(session.actor, session.source),
                    f"terminal.{_KINDS.get(type(msg), 'message')}",
                    "unit",
                    session.unit_id,
                )
            )
            try:
                if isinstance(msg, StatusMsg):
                    field_name = "status"
                    answer = await self._status(session, msg)
                elif isinstance(msg, AckMsg):
                    field_name = "assignment_id"
                    answer = await self._ack(session, msg)
                else:
                    field_name = "text"
                    answer = await self._text(session, msg)
            finally:
                request_audit.forget()
            # A replayed frame changed nothing (the first answer's row stands).
            if not answer.get("duplicate") and not expected.settled:
                log.error("%s from %s answered without its audit row", expected.action, key)
                self.unaudited.append(expected.action)
            return answer
        except (CadError, DispatchError, GisError) as exc:
            return error_frame(exc, key, field_name)

    async def _replayed(self, session: Session, key: str, kind: str) -> Frame:
        async with self.engine.connect() as conn:
            answer = await keys.answer_of(conn, session.device, key)
        return {"v": V, "type": "ack", "key": key, "for": kind, **(answer or {}),
                "duplicate": True}

    async def _positions(self, session: Session, msg: PositionsMsg) -> Frame:
        kind = "positions" if msg.batch else "position"
        recent = self._recent.setdefault(session.device, OrderedDict())
        first = recent.get(msg.key)
        if isinstance(first, asyncio.Future):
            first = await asyncio.shield(first)
        if isinstance(first, int):
            return {"v": V, "type": "ack", "key": msg.key, "for": kind, "duplicate": True,
                    "accepted": first, "refused": []}
        if first is not None:
            return {**first, "duplicate": True}
        # Claimed before anything is awaited: a copy sent meanwhile waits for this answer.
        claim: asyncio.Future[Frame | None] = asyncio.get_running_loop().create_future()
        recent[msg.key] = claim
        while len(recent) > self.policy.recent_keys:
            recent.popitem(last=False)
        try:
            frame = await self._take(session, msg, kind)
        except BaseException:
            self._settle(recent, msg.key, claim, None)
            raise
        self._settle(recent, msg.key, claim, None if frame["type"] == "error" else frame)
        return frame

    @staticmethod
    def _settle(
        recent: OrderedDict[str, _Recent],
        key: str,
        claim: asyncio.Future[Frame | None],
        answer: Frame | None,
    ) -> None:
        """The first answer to a key, for its replays (kept small: most positions have no
        refusals); None: nothing was taken, the key is free again."""
        if recent.get(key) is claim:
            if answer is None:
                del recent[key]
            else:
                recent[key] = answer if answer["refused"] else int(answer["accepted"])
        if not claim.done():
            claim.set_result(answer)

    async def _take(self, session: Session, msg: PositionsMsg, kind: str) -> Frame:
        taken = await self.tracking.report(session.unit_id, msg.reports, "terminal")
        if not msg.batch and taken.refused:
            r = taken.refused[0]
            return {"v": V, "type": "error", "key": msg.key, "code": r.code,
                    "message": r.message, "field": f"position.{r.field}",
                    "params": {k: v if isinstance(v, int | float | str | bool) else str(v)
                               for k, v in r.params.items()}}
        # The ack is only sent once the fixes are committed: the terminal may then drop them.
        stored = await taken.committed()
        return {
            "v": V,
            "type": "ack",
            "key": msg.key,
            "for": kind,
            "duplicate": False,
            "accepted": stored,
            "refused": [
                {"index": r.index, "code": r.code, "field": f"{kind}.{r.index}.{r.field}"
                 if msg.batch else f"position.{r.field}", "message": r.message}
                for r in taken.refused
            ],
        }

    def _also(self, session: Session, key: str, kind: str, answer: Frame) -> Callable[
        [AsyncConnection], Awaitable[None]
    ]:
        async def also(conn: AsyncConnection) -> None:
            if not await keys.claim(conn, session.device, key, kind, answer):
                raise _Replayed

        return also

    async def _status(self, session: Session, msg: StatusMsg) -> Frame:
        async with self.engine.connect() as conn:
            seen = await keys.answer_of(conn, session.device, msg.key)
        if seen is not None:
            return await self._replayed(session, msg.key, "status")
        status = parse_status(msg.status)
        answer: Frame = {"status": status.value}
        try:
            await self.unit_status.report(
                session.unit_id, status, session.actor, msg.reason,
                also=self._also(session, msg.key, "status", answer),
            )
        except _Replayed:
            return await self._replayed(session, msg.key, "status")
        return {"v": V, "type": "ack", "key": msg.key, "for": "status", "duplicate": False,
                **answer}

    async def _ack(self, session: Session, msg: AckMsg) -> Frame:
        async with self.engine.connect() as conn:
            seen = await keys.answer_of(conn, session.device, msg.key)
        if seen is not None:
            return await self._replayed(session, msg.key, "ack")
        answer: Frame = {"assignment_id": msg.assignment_id}
        try:
            a = await self.unit_status.acknowledge(
                session.unit_id, session.actor,
                also=self._also(session, msg.key, "ack", answer),
                assignment_id=msg.assignment_id,
            )
        except _Replayed:
            return await self._replayed(session, msg.key, "ack")
        return {"v": V, "type": "ack", "key": msg.key, "for": "ack", "duplicate": False,
                **answer, "incident_id": a.incident_id,
                "acknowledged_at": a.acknowledged_at.isoformat() if a.acknowledged_at else None}

    async def _text(self, session: Session, msg: TextMsg) -> Frame:
        answer: Frame = {}
        try:
            async with request_audit.transaction(self.engine) as conn:
                if not await keys.claim(conn, session.device, msg.key, "message", answer):
                    raise _Replayed
                await events.append(
                    conn,
                    [NewEvent("unit.message_received", "unit", session.unit_id,
                              {"text": msg.text, "device": session.device,
                               "at": self.clock().isoformat()}, session.actor)],
                )
        except _Replayed:
            return await self._replayed(session, msg.key, "message")
        return {"v": V, "type": "ack", "key": msg.key, "for": "message", "duplicate": False}

    async def message(self, unit_id: str, text: str, actor: str) -> None:
        """A dispatcher's message to a unit: an event, pushed to the unit's open terminals in
        every process."""
        await self.unit_status.unit(unit_id)  # NotFound for an unknown unit
        async with request_audit.transaction(self.engine) as conn:
            await events.append(
                conn, [NewEvent("unit.message_sent", "unit", unit_id, {"text": text}, actor)]
            )

    async def prune(self) -> int:
        """Drop idempotency keys older than the retention."""
        before = self.clock() - timedelta(days=self.policy.key_days)
        async with self.engine.begin() as conn:
            return await keys.prune(conn, before)

    # ------------------------------------------------------------------ to the terminal

    async def assignment_frame(self, unit_id: str, event: str) -> Frame:
        """The unit's open assignment with its incident and route (``assignment`` null when
        it has none)."""
        found = await self.assignments.current(unit_id)
        if found is None:
            return {"v": V, "type": "assignment", "event": event, "assignment": None,
                    "incident": None, "route": None}
        a, inc = found.assignment, found.incident
        await self.access.need_to_know(inc.id, f"device:{unit_id}", f"terminal assignment {event}")
        kind = self.config.taxonomy.types.get(inc.type_code)
        return {
            "v": V,
            "type": "assignment",
            "event": event,
            "unit_status": found.unit_status.value,
            "assignment": {
                "id": a.id,
                "incident_id": a.incident_id,
                "assigned_at": a.assigned_at.isoformat(),
                "acknowledged_at": a.acknowledged_at.isoformat() if a.acknowledged_at else None,
            },
            "incident": {
                "id": inc.id, "number": inc.number, "type": inc.type_code,
                "type_names": dict(kind.names) if kind else {}, "priority": inc.priority,
                "status": inc.status.value, "lon": inc.lon, "lat": inc.lat,
                "address": inc.address, "cross_streets": inc.cross_streets,
                "summary": inc.summary,
            },
            "route": await self._route(unit_id, inc.region or self.region, (inc.lon, inc.lat)),
        }

    async def _route(
        self, unit_id: str, region: str, dest: tuple[float, float]
    ) -> Frame | None:
        latest = self.tracking.latest(unit_id)
        origin: tuple[float, float] | None = None
        if latest is not None:
            origin = (latest.lon, latest.lat)
        else:
            unit = await self.unit_status.unit(unit_id)
            at = unit.fix or unit.station_position
            origin = None if at is None else (at.lon, at.lat)
        if origin is None:
            return None
        try:
            async with asyncio.timeout(self.policy.route_timeout_s):
                async with self.engine.connect() as conn:
                    route = await self.roads.route(conn, region, origin, dest)
        except (GisError, TimeoutError) as exc:
            log.info("no route for %s: %s", unit_id, exc)
            return None
        if route is None:
            return None
        return {"seconds": round(route.seconds, 1), "metres": round(route.metres, 1),
                "geometry": route.geometry, "from": [origin[0], origin[1]]}

    async def start(self) -> None:
        self._task = asyncio.create_task(self._pump(self.hub.last_seq), name="terminal pushes")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _pump(self, after: int) -> None:
        """The one hub subscription of this process's terminals."""
        while True:
            try:
                async for event in self.hub.stream(after):
                    after = event.seq
                    if self._sessions:
                        await self._deliver(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("terminal pushes failed; resuming after %s", after)
                await asyncio.sleep(1.0)

    async def _deliver(self, event: Event) -> None:
        data = event.data
        unit_id = str(data.get("unit_id") or "")
        if event.type == "unit.message_sent":
            unit_id = event.subject_id
        sessions = self._sessions.get(unit_id)
        if not sessions:
            return
        frame: Frame
        if event.type == "incident.unit_assigned":
            frame = await self.assignment_frame(unit_id, "new")
        elif event.type == "assignment.ended":
            frame = {"v": V, "type": "assignment_ended", "incident_id": int(event.subject_id),
                     "reason": data.get("reason"), "seq": event.seq}
        elif event.type == "unit.message_sent":
            frame = {"v": V, "type": "message", "from": event.actor or "",
                     "text": data.get("text", ""), "at": event.at.isoformat(),
                     "seq": event.seq}
        else:
            return
        for session in tuple(sessions):
            session.push(frame)
