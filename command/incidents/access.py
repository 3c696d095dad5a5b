"""Per-incident access: marking an incident sensitive, and checking and auditing every read of
a marked one.

- Marking and unmarking: supervisors, and the call-taker who logged the incident while they may
  read it; the marking, its audit row and its ``incident.sensitivity_changed`` event are one
  transaction.
- A direct read (one incident, or anything under it) by someone the marking does not name is
  answered exactly as for an incident that does not exist (404 ``incident.not_found``): a 403
  would tell that the incident is there and is sensitive. The refusal is audited.
- Lists drop the marked incidents the reader may not read; the marked ones they may read are
  audited in one row per answer naming their ids (cheap, and it says what was shown together).
- Events: ``screen`` decides from the in-memory ``MarkingBook`` without I/O, so the common path
  (an event about no marked incident) costs a set look-up; an incident's events are withheld,
  a unit's events go out without the incident; a console's stream audits the first event of
  each marked incident it delivers.

Direct reads take the marking from the database, the one truth, not from the book: a marking
made on another process is in force at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from command import audit
from command import events as event_log
from command.errors import Forbidden, InvalidInput, NotFound
from command.eventhub import EventHub
from command.events import Event
from command.incidents import sensitivity_store as store
from command.incidents import store as incidents_store
from command.incidents.changes import incident_event
from command.incidents.domain import Incident
from command.incidents.sensitivity import (
    Marking,
    MarkingBook,
    Reader,
    Reason,
    check_marking,
    incidents_of,
    may_read,
    parse_reason,
    redacted,
)
from command.unit_of_work import UnitOfWork, Work

log = logging.getLogger(__name__)

CHANGED = "incident.sensitivity_changed"
NONE: frozenset[int] = frozenset()
MANAGER_ROLE = "supervisor"


@dataclass(frozen=True)
class MarkingIn:
    """A requested marking; ``sensitive`` False lifts it (reason and names are then ignored)."""

    sensitive: bool
    reason: str = ""
    roles: tuple[str, ...] = ()
    users: tuple[str, ...] = ()


def hidden(incident_id: int) -> NotFound:
    """The answer for an incident the reader may not read: the same as for a missing one."""
    return NotFound(
        f"incident {incident_id} does not exist", code="incident.not_found", incident_id=incident_id
    )


@dataclass(frozen=True)
class Draft:
    """A checked marking about to be written (``reason`` None: lift it), and the address of
    the client that asked, for its audit row."""

    reason: Reason | None
    roles: frozenset[str]
    users: frozenset[str]
    source: str


async def write_marking(
    work: Work, inc: Incident, draft: Draft, *, was_marked: bool
) -> Marking | None:
    """Write or lift the marking with its audit row and its event, in the open unit of work.

    Call it before emitting any other event of the change: the hub applies the marking before it
    hands on the events that follow it, so none of them reaches a console it does not name.
    """
    missing = sorted(draft.users - await store.existing_users(work.conn, draft.users))
    if missing:
        raise InvalidInput(
            f"unknown user {', '.join(missing)}", code="sensitivity.user_unknown", unknown=missing
        )
    marking = None
    if draft.reason is not None:
        marking = Marking(inc.id, draft.reason, draft.roles, draft.users, work.actor, work.now)
        await store.put(work.conn, marking)
        data: Mapping[str, Any] = marking.as_event()
    else:
        await store.lift(work.conn, inc.id)
        data = {"sensitive": False}
    await audit.record(
        work.conn,
        actor=work.actor,
        action="incident.mark_sensitive" if marking else "incident.unmark_sensitive",
        object_type="incident",
        object_id=str(inc.id),
        source=draft.source,
        result="ok",
        detail={**data, "was_sensitive": was_marked},
    )
    work.emit(incident_event("sensitivity_changed", inc, work.actor, **data))
    return marking


class IncidentAccess:
    """Markings and the read checks, over one database; built once by the bootstrap."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], datetime],
        known_roles: Iterable[str],
    ) -> None:
        self.engine = engine
        self.work = UnitOfWork(engine, clock)
        self.known_roles = frozenset(known_roles)
        self.book = MarkingBook()

    async def start(self, hub: EventHub) -> None:
        """Fill the book and keep it current from the hub, before it hands events on."""
        hub.watch(self.observe)
        async with self.engine.connect() as conn:
            baseline = await event_log.last_seq(conn)
            self.book.load(baseline, await store.every(conn))
        log.info("%d sensitive incident(s) marked", len(self.book))

    def observe(self, event: Event) -> None:
        if event.type != CHANGED or not event.subject_id.isdigit():
            return
        try:
            self.book.apply(
                event.seq, int(event.subject_id), event.data, event.actor or "", event.at
            )
        except (KeyError, ValueError):
            # Not one this code wrote: the hub must go on; the database still holds the truth
            # for direct reads.
            log.warning("sensitivity event %s has no marking this version reads", event.seq)

    # ------------------------------------------------------------------ marking

    def draft(self, wanted: MarkingIn, source: str) -> Draft:
        """The requested marking, checked (all but whether the users exist)."""
        if not wanted.sensitive:
            return Draft(None, frozenset(), frozenset(), source)
        reason = parse_reason(wanted.reason)
        roles, users = check_marking(wanted.roles, wanted.users, self.known_roles)
        return Draft(reason, roles, users, source)

    async def mark(
        self, incident_id: int, wanted: MarkingIn, reader: Reader, source: str
    ) -> Marking | None:
        """Set or lift the marking; returns the marking now in force (None: not sensitive)."""
        draft = self.draft(wanted, source)
        async with self.work.begin(reader.actor) as work:
            inc = await incidents_store.get(work.conn, incident_id, lock=True)
            current = await store.get(work.conn, incident_id)
            if not may_read(reader, current) and MANAGER_ROLE not in reader.roles:
                raise hidden(incident_id)
            if MANAGER_ROLE not in reader.roles and inc.created_by != reader.actor:
                raise Forbidden(
                    f"only a supervisor or the incident's creator may mark incident {inc.number}",
                    code="sensitivity.not_allowed",
                    number=inc.number,
                )
            return await write_marking(work, inc, draft, was_marked=current is not None)

    async def marking(
        self, incident_id: int, reader: Reader, route: str, source: str
    ) -> Marking | None:
        """The marking in force (None: not sensitive), for those who may read the incident and
        for supervisors."""
        async with self.work.read() as conn:
            await incidents_store.get(conn, incident_id)
            current = await store.get(conn, incident_id)
        if current is not None and MANAGER_ROLE not in reader.roles:
            await self.check(incident_id, reader, route, source)
        return current

    # ------------------------------------------------------------------ reading

    async def check(self, incident_id: int, reader: Reader, route: str, source: str) -> None:
        """Refuse (as not found) a read the marking does not allow; audit every read of a
        marked incident, allowed or refused."""
        async with self.work.read() as conn:
            current = await store.get(conn, incident_id)
        if current is None:
            return
        allowed = may_read(reader, current)
        await self._audit(reader, str(incident_id), route, source, allowed)
        if not allowed:
            raise hidden(incident_id)

    async def readable(
        self, ids: Iterable[int], reader: Reader, route: str, source: str
    ) -> set[int]:
        """Those of ``ids`` that ``reader`` may read; the marked ones among them, audited in
        one row."""
        wanted = set(ids)
        async with self.work.read() as conn:
            markings = await store.of(conn, wanted)
        if not markings:
            return wanted
        shown = sorted(i for i, m in markings.items() if may_read(reader, m))
        if shown:
            await self._audit(reader, "list", route, source, True, incidents=shown)
        return wanted - (set(markings) - set(shown))

    async def unreadable(self, ids: Iterable[int], reader: Reader) -> set[int]:
        """Those of ``ids`` that are marked and ``reader`` may not read (for answers that
        only name incidents, such as the unit board: nothing to audit)."""
        async with self.work.read() as conn:
            markings = await store.of(conn, ids)
        return {i for i, m in markings.items() if not may_read(reader, m)}

    def screen(self, event: Event, reader: Reader) -> tuple[Event, frozenset[int]] | None:
        """An event about to go to ``reader``'s console: None to withhold it, else the event to
        send and the marked incidents it tells of (to audit). No I/O.

        An incident's own events are withheld from a console that may not read it; a unit's
        event goes out without the incident it names, so that the unit's status stays true on
        every board.
        """
        self.observe(event)  # a stream catching up may be ahead of the hub
        if not self.book or event.subject_type not in ("incident", "unit"):
            return event, NONE
        marked, withheld = self.book.sort(
            incidents_of(event.subject_type, event.subject_id, event.data), reader
        )
        if not withheld:
            return event, frozenset(marked)
        if event.subject_type == "incident":
            return None
        return replace(event, data=redacted(event.data, withheld)), frozenset(marked)

    async def delivered(self, ids: Iterable[int], reader: Reader, route: str, source: str) -> None:
        """Audit marked incidents whose events were sent to a console."""
        shown = sorted(ids)
        if shown:
            await self._audit(reader, "events", route, source, True, incidents=shown)

    async def need_to_know(self, incident_id: int, actor: str, route: str) -> None:
        """A read the marking does not govern (a unit's terminal gets its own assignment), but
        which is audited like every other read of a marked incident."""
        async with self.work.read() as conn:
            if await store.get(conn, incident_id) is None:
                return
        async with self.engine.begin() as conn:
            await audit.record(
                conn,
                actor=actor,
                action="incident.read_sensitive",
                object_type="incident",
                object_id=str(incident_id),
                source="terminal",
                result="ok",
                detail={"route": route, "need_to_know": "assigned unit"},
            )

    async def _audit(
        self,
        reader: Reader,
        object_id: str,
        route: str,
        source: str,
        allowed: bool,
        **detail: Any,
    ) -> None:
        async with self.engine.begin() as conn:
            await audit.record(
                conn,
                actor=reader.actor,
                action="incident.read_sensitive",
                object_type="incident",
                object_id=object_id,
                source=source,
                result="ok" if allowed else "refused",
                detail={"route": route, **detail},
            )
