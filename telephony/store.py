"""SQL adapter for telephony: persist what the bridge learns, take text/alarm reports in.

Functions take an ``AsyncConnection`` (the caller owns the transaction) and return the domain
events that are new facts, for the command layer to append to the event log in the same
transaction. Replays after a resync (a call recovered in a state the database already has) are
not facts and are dropped here, so consoles do not see a call answered twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from telephony.calls import (
    Call,
    CallKind,
    CallState,
    CallTransitioned,
    CallUpdated,
    CallView,
    Report,
)
from telephony.errors import Conflict, InvalidRequest, NotFound
from telephony.phone import normal_number
from telephony.seats import SeatChanged
from telephony.stats import CallFact, Figures, PauseFact, by_queue, by_seat
from telephony.tables import (
    call_transitions,
    caller_locations,
    calls,
    recordings,
    reports,
    seat_pauses,
    seat_sessions,
    seats,
)
from telephony.tracker import DomainEvent

RANK = {"queued": 0, "offered": 1, "answered": 2, "completed": 3, "abandoned": 3,
        "transferred": 3, "ended": 4}
_TIMES = ("offered_at", "answered_at", "completed_at", "abandoned_at", "transferred_at",
          "ended_at")
_MEASURES = ("hold_time", "talk_time", "ring_time")
REPORT_KINDS = ("sms", "alarm")  # text and alarm reports; voice and call backs are calls


def _call_row(view: CallView, at: datetime) -> dict[str, Any]:
    row = dict(view.__dict__)
    row.pop("location", None)  # kept in caller_locations
    row["updated_at"] = at
    return row


def _upsert_statement(recovered: bool) -> Any:
    stmt = pg_insert(calls)
    ex = stmt.excluded
    c = calls.c
    update: dict[str, Any] = {
        "state": ex.state, "seat": ex.seat, "position": ex.position,
        "number": sa.func.coalesce(ex.number, c.number),
        "name": sa.func.coalesce(ex.name, c.name),
        "channel": sa.func.coalesce(ex.channel, c.channel),
        "linkedid": sa.func.coalesce(ex.linkedid, c.linkedid),
        "agent_channel": sa.func.coalesce(ex.agent_channel, c.agent_channel),
        "queued_at": sa.func.least(c.queued_at, ex.queued_at),
        "hangup_cause": sa.func.coalesce(ex.hangup_cause, c.hangup_cause),
        "complete_reason": sa.func.coalesce(ex.complete_reason, c.complete_reason),
        "transfer_target": sa.func.coalesce(ex.transfer_target, c.transfer_target),
        "updated_at": ex.updated_at,
    }
    for name in (*_TIMES, *_MEASURES):
        # a recovered call's times are estimates: what we recorded live wins
        first, second = (c[name], ex[name]) if recovered else (ex[name], c[name])
        update[name] = sa.func.coalesce(first, second)
    return stmt.on_conflict_do_update(index_elements=[c.id], set_=update)


_UPSERT = {True: _upsert_statement(True), False: _upsert_statement(False)}


async def _upsert_calls(conn: AsyncConnection, views: Sequence[tuple[CallView, datetime]]) -> None:
    for recovered in (False, True):
        rows = [_call_row(v, at) for v, at in views if v.recovered == recovered]
        if rows:
            await conn.execute(_UPSERT[recovered], rows)


async def _upsert_call(conn: AsyncConnection, view: CallView, at: datetime) -> None:
    await _upsert_calls(conn, [(view, at)])


async def persist(conn: AsyncConnection, events: Sequence[DomainEvent]) -> list[DomainEvent]:
    """Store calls, transitions and seats in a few statements per batch; return the events
    that are new facts (a recovered call replaying a state already stored is not)."""
    ids = {e.call.id for e in events if isinstance(e, CallTransitioned | CallUpdated)}
    states: dict[str, str | None] = {}
    if ids:
        found = await conn.execute(sa.select(calls.c.id, calls.c.state).where(
            calls.c.id.in_(sorted(ids))))
        states = {r.id: r.state for r in found}
    out: list[DomainEvent] = []
    latest: dict[str, tuple[CallView, datetime]] = {}
    steps: list[dict[str, Any]] = []
    seat_events: list[SeatChanged] = []
    recorded: list[CallUpdated] = []
    for event in events:
        if isinstance(event, CallTransitioned):
            cid = event.call.id
            known = states.get(cid)
            if known is not None and event.call.recovered and (
                    RANK[known] >= RANK[event.to_state]):
                continue
            if known == "ended":
                continue
            latest[cid] = (event.call, event.at)
            steps.append({"call_id": cid, "from_state": event.from_state,
                          "to_state": event.to_state, "at": event.at,
                          "seat": event.call.seat or event.detail.get("seat"),
                          "detail": _jsonable(event.detail)})
            states[cid] = event.to_state
            out.append(event)
        elif isinstance(event, CallUpdated):
            if states.get(event.call.id) is None:
                continue
            latest[event.call.id] = (event.call, event.at)
            out.append(event)
            if event.change in ("recording_started", "recording_stopped"):
                recorded.append(event)
        else:
            seat_events.append(event)
            out.append(event)
    if latest:
        await _upsert_calls(conn, list(latest.values()))
    if steps:
        await conn.execute(call_transitions.insert(), steps)
    located: list[dict[str, Any]] = []
    for e in out:
        if not isinstance(e, CallTransitioned | CallUpdated):
            continue
        loc = e.call.location
        fresh = (e.from_state is None if isinstance(e, CallTransitioned)
                 else e.change == "location")
        if loc is not None and e.call.number and fresh:
            located.append({"number": e.call.number, "lat": loc[0], "lon": loc[1],
                            "accuracy_m": loc[2], "source": "channel", "at": e.at})
    if located:
        await conn.execute(caller_locations.insert(), located)
    for e in recorded:
        # recordings started anywhere (our API, a supervisor's panel) get their row and file
        if e.change == "recording_stopped":
            await stop_recordings(conn, e.call.id, e.at)
        elif isinstance(e.detail.get("file"), str) and not e.detail.get("started_here"):
            await add_recording(conn, e.call.id, e.detail["file"], e.at, ASTERISK)
    if seat_events:
        await _seats(conn, seat_events)
    return out


async def _seats(conn: AsyncConnection, events: Sequence[SeatChanged]) -> None:
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        v = event.seat
        rows[v.interface] = {
            "interface": v.interface, "name": v.name, "state": v.state,
            "queues": list(v.queues), "paused": v.paused, "pause_reason": v.pause_reason,
            "call_id": v.call, "ringing_call_id": v.ringing_call,
            "signed_in_at": v.signed_in_at, "paused_at": v.paused_at, "updated_at": event.at}
    stmt = pg_insert(seats)
    update = {k: stmt.excluded[k] for k in next(iter(rows.values())) if k != "interface"}
    await conn.execute(stmt.on_conflict_do_update(index_elements=[seats.c.interface],
                                                  set_=update), list(rows.values()))
    for event in events:
        if event.change in ("signed_in", "signed_out", "paused", "resumed"):
            await _seat_history(conn, event)


async def _seat_history(conn: AsyncConnection, event: SeatChanged) -> None:
    v = event.seat
    if event.change == "signed_in":
        await conn.execute(seat_sessions.update().where(
            seat_sessions.c.interface == v.interface, seat_sessions.c.signed_out_at.is_(None)
        ).values(signed_out_at=event.at))
        username = (await conn.execute(sa.select(seats.c.username).where(
            seats.c.interface == v.interface))).scalar_one_or_none()
        await conn.execute(seat_sessions.insert().values(
            interface=v.interface, username=username, signed_in_at=event.at))
    elif event.change == "signed_out":
        await conn.execute(seat_sessions.update().where(
            seat_sessions.c.interface == v.interface, seat_sessions.c.signed_out_at.is_(None)
        ).values(signed_out_at=event.at))
        await conn.execute(seats.update().where(seats.c.interface == v.interface)
                           .values(username=None))
    elif event.change == "paused":
        await conn.execute(seat_pauses.update().where(
            seat_pauses.c.interface == v.interface, seat_pauses.c.ended_at.is_(None)
        ).values(ended_at=event.at))
        await conn.execute(seat_pauses.insert().values(
            interface=v.interface, reason=v.pause_reason, started_at=event.at))
    elif event.change == "resumed":
        await conn.execute(seat_pauses.update().where(
            seat_pauses.c.interface == v.interface, seat_pauses.c.ended_at.is_(None)
        ).values(ended_at=event.at))


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in detail.items()}


async def bind_user(conn: AsyncConnection, interface: str, name: str, username: str,
                    at: datetime) -> None:
    """Remember which person signs in on a seat (their console gets that seat's pops)."""
    stmt = pg_insert(seats).values(interface=interface, name=name, state="signed_out",
                                   queues=[], username=username, updated_at=at)
    await conn.execute(stmt.on_conflict_do_update(
        index_elements=[seats.c.interface],
        set_={"username": username, "name": name, "updated_at": at}))


async def seat_user(conn: AsyncConnection, interface: str) -> str | None:
    return (await conn.execute(sa.select(seats.c.username).where(
        seats.c.interface == interface))).scalar_one_or_none()


async def seat_rows(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(sa.select(seats).order_by(seats.c.interface))
    return [dict(r._mapping) for r in rows]


async def get_call(conn: AsyncConnection, call_id: str) -> dict[str, Any]:
    row = (await conn.execute(sa.select(calls).where(calls.c.id == call_id))).first()
    if row is None:
        raise NotFound(f"no call {call_id}", code="call.unknown", call=call_id)
    return dict(row._mapping)


async def transitions_of(conn: AsyncConnection, call_id: str) -> list[dict[str, Any]]:
    rows = await conn.execute(sa.select(call_transitions).where(
        call_transitions.c.call_id == call_id).order_by(call_transitions.c.id))
    return [dict(r._mapping) for r in rows]


async def earlier_calls(conn: AsyncConnection, number: str, since: datetime,
                        exclude: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    q = (sa.select(calls.c.id, calls.c.kind, calls.c.state, calls.c.queued_at,
                   calls.c.answered_at, calls.c.seat, calls.c.complete_reason)
         .where(calls.c.number == number, calls.c.queued_at >= since)
         .order_by(calls.c.queued_at.desc()).limit(limit))
    if exclude:
        q = q.where(calls.c.id != exclude)
    return [dict(r._mapping) for r in await conn.execute(q)]


# ------------------------------------------------------------------ recordings


ASTERISK = "asterisk"  # started_by of a recording seen on AMI before (or without) our request


async def add_recording(conn: AsyncConnection, call_id: str, file: str, at: datetime,
                        by: str) -> int:
    """One row per call and file: a recording Asterisk already reported gets its starter."""
    await get_call(conn, call_id)
    known = (await conn.execute(sa.select(recordings.c.id, recordings.c.started_by).where(
        recordings.c.call_id == call_id, recordings.c.file == file))).first()
    if known is not None:
        if known.started_by == ASTERISK and by != ASTERISK:
            await conn.execute(recordings.update().where(recordings.c.id == known.id)
                               .values(started_by=by))
        return int(known.id)
    return int((await conn.execute(recordings.insert().values(
        call_id=call_id, file=file, started_at=at, started_by=by
    ).returning(recordings.c.id))).scalar_one())


async def stop_recordings(conn: AsyncConnection, call_id: str, at: datetime) -> int:
    result = await conn.execute(recordings.update().where(
        recordings.c.call_id == call_id, recordings.c.stopped_at.is_(None)
    ).values(stopped_at=at))
    return int(result.rowcount)


async def recordings_of(conn: AsyncConnection, call_ids: Sequence[str]) -> list[dict[str, Any]]:
    rows = await conn.execute(sa.select(recordings).where(recordings.c.call_id.in_(
        list(call_ids))).order_by(recordings.c.id))
    return [dict(r._mapping) for r in rows]


# ------------------------------------------------------------------ locations


def check_position(lat: float, lon: float) -> None:
    if not -90 <= lat <= 90:
        raise InvalidRequest(f"latitude {lat} is outside -90..90", code="point.lat_range", lat=lat)
    if not -180 <= lon <= 180:
        raise InvalidRequest(
            f"longitude {lon} is outside -180..180", code="point.lon_range", lon=lon)


async def push_location(conn: AsyncConnection, number: str, lat: float, lon: float,
                        accuracy_m: float | None, source: str, at: datetime) -> int:
    check_position(lat, lon)
    return int((await conn.execute(caller_locations.insert().values(
        number=normal_number(number), lat=lat, lon=lon, accuracy_m=accuracy_m, source=source,
        at=at).returning(caller_locations.c.id))).scalar_one())


async def location_of(conn: AsyncConnection, number: str,
                      since: datetime) -> dict[str, Any] | None:
    row = (await conn.execute(
        sa.select(caller_locations.c.lat, caller_locations.c.lon, caller_locations.c.accuracy_m,
                  caller_locations.c.source, caller_locations.c.at)
        .where(caller_locations.c.number == number, caller_locations.c.at >= since)
        .order_by(caller_locations.c.at.desc()).limit(1))).first()
    return None if row is None else dict(row._mapping)


# ------------------------------------------------------------------ text and alarm intake


async def intake(conn: AsyncConnection, report: Report, at: datetime,
                 by: str) -> tuple[str, list[DomainEvent]]:
    """Take an SMS or alarm in as a queued item (a call of that kind). Idempotent on
    ``external_id``: a retry returns the same item and no new events."""
    if report.kind not in (CallKind.SMS, CallKind.ALARM):
        raise InvalidRequest(
            f"report kind must be sms or alarm, not {report.kind}", code="report.kind_unknown",
            kind=str(report.kind), known=[str(CallKind.SMS), str(CallKind.ALARM)])
    if (report.lat is None) != (report.lon is None):
        raise InvalidRequest("give both lat and lon, or neither", code="report.position_half")
    if report.lat is not None and report.lon is not None:
        check_position(report.lat, report.lon)
    if report.external_id:
        existing = (await conn.execute(sa.select(reports.c.call_id).where(
            reports.c.kind == str(report.kind),
            reports.c.external_id == report.external_id))).scalar_one_or_none()
        if existing is not None:
            return existing, []
    seq = (await conn.execute(sa.text("SELECT nextval('reports_id_seq')"))).scalar_one()
    call_id = f"{report.kind}-{seq}"
    call, event = Call.arrive(call_id, report.queue, at, kind=report.kind,
                              number=normal_number(report.sender), name=report.source)
    await _upsert_call(conn, call.view(), at)
    await conn.execute(call_transitions.insert().values(
        call_id=call_id, from_state=None, to_state="queued", at=at, seat=None, detail={}))
    await conn.execute(reports.insert().values(
        id=seq, kind=str(report.kind), call_id=call_id, external_id=report.external_id,
        sender=report.sender, body=report.body, source=report.source, lat=report.lat,
        lon=report.lon, address=report.address, payload=report.payload or {},
        received_at=at, received_by=by))
    if report.lat is not None and report.lon is not None:
        await push_location(conn, report.sender, report.lat, report.lon, None,
                            f"{report.kind}:{report.source or 'sender'}", at)
    return call_id, [event]


async def report_of(conn: AsyncConnection, call_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(sa.select(reports).where(reports.c.call_id == call_id))).first()
    return None if row is None else dict(row._mapping)


async def _load(conn: AsyncConnection, call_id: str, lock: bool = True) -> Call:
    q = sa.select(calls).where(calls.c.id == call_id)
    row = (await conn.execute(q.with_for_update() if lock else q)).first()
    if row is None:
        raise NotFound(f"no call {call_id}", code="call.unknown", call=call_id)
    m = dict(row._mapping)
    fields = {k: m[k] for k in Call.__dataclass_fields__ if k in m and k not in (
        "kind", "state")}
    return Call(kind=CallKind(m["kind"]), state=CallState(m["state"]), **fields)


async def move_report(conn: AsyncConnection, call_id: str, to: str, seat: str | None,
                      at: datetime) -> list[DomainEvent]:
    """Offer, answer (accept) or complete a text/alarm item; voice calls move by Asterisk."""
    call = await _load(conn, call_id)
    if call.kind in (CallKind.VOICE, CallKind.OUTBOUND):
        raise Conflict(f"{call_id} is a voice call; it moves with Asterisk, not by hand",
                       code="report.is_voice", call=call_id)
    event: CallTransitioned
    if to == "offered":
        if seat is None:
            raise InvalidRequest("offering needs a seat", code="report.offer_needs_seat")
        event = call.offer(seat, at)
    elif to == "answered":
        if seat is None:
            raise InvalidRequest("accepting needs a seat", code="report.accept_needs_seat")
        if call.state == CallState.OFFERED and call.seat not in (None, seat):
            raise Conflict(f"{call_id} is offered to {call.seat}, not {seat}",
                           code="report.offered_elsewhere", call=call_id, offered_to=call.seat,
                           seat=seat)
        event = call.answer(seat, at)
    elif to == "completed":
        event = call.complete(at, "seat")
    elif to == "ended":
        event = call.end(at)
    else:
        raise InvalidRequest(f"cannot move a report to {to!r}", code="report.move_unknown",
                             to=to, known=["offered", "answered", "completed", "ended"])
    await persist(conn, [event])
    return [event]


async def reports_on_seat(conn: AsyncConnection, seat: str) -> list[CallView]:
    """Text/alarm items offered to or accepted by a seat and not yet done."""
    rows = await conn.execute(sa.select(calls).where(
        calls.c.kind.in_(REPORT_KINDS), calls.c.seat == seat,
        calls.c.state.in_(["offered", "answered"])).order_by(calls.c.queued_at))
    out = []
    for r in rows:
        m = dict(r._mapping)
        m.pop("updated_at", None)
        out.append(CallView(**m))
    return out


async def waiting_reports(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(sa.select(calls.c.id).where(
        calls.c.kind.in_(REPORT_KINDS), calls.c.state == "queued").order_by(calls.c.queued_at))
    return [r.id for r in rows]


# ------------------------------------------------------------------ statistics


async def statistics(conn: AsyncConnection, since: datetime,
                     until: datetime) -> tuple[dict[str, Figures], dict[str, Figures]]:
    """Per-queue and per-seat figures for calls that arrived in [since, until)."""
    rows = await conn.execute(sa.select(
        calls.c.id, calls.c.queue, calls.c.seat, calls.c.kind, calls.c.answered_at,
        calls.c.abandoned_at, calls.c.queued_at, calls.c.hold_time, calls.c.talk_time,
        calls.c.state, calls.c.recovered,
    ).where(calls.c.queued_at >= since, calls.c.queued_at < until,
            calls.c.kind != "outbound"))  # call backs are made, not answered
    facts: list[CallFact] = []
    for r in rows:
        answered = r.answered_at is not None
        # a recovered call without Asterisk's hold time was answered while the link was down:
        # its answer time is an estimate, left out of the answer-time figures
        answer_s = r.hold_time if r.hold_time is not None and answered else (
            (r.answered_at - r.queued_at).total_seconds()
            if answered and not r.recovered else None)
        facts.append(CallFact(r.id, r.queue, r.seat, answered, r.abandoned_at is not None,
                              answer_s, r.talk_time, r.kind))
    pause_rows = await conn.execute(sa.select(seat_pauses).where(
        seat_pauses.c.started_at < until,
        sa.or_(seat_pauses.c.ended_at.is_(None), seat_pauses.c.ended_at > since)))
    pauses: list[PauseFact] = []
    for p in pause_rows:
        start = max(p.started_at, since)
        end = min(p.ended_at or until, until)
        pauses.append(PauseFact(p.interface, max((end - start).total_seconds(), 0.0),
                                p.reason))
    return by_queue(facts), by_seat(facts, pauses)


def window(at: datetime, days: float) -> datetime:
    return at - timedelta(days=days)
