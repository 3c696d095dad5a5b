"""Changes to an incident inside an open unit of work, shared by every use case that makes them.

Loading an incident to direct it (row lock, then the tiered-command check), the version check,
a status change with its history row and event, the automatic steps that follow units (first
unit dispatched, en route, on scene; no unit left), system notes in the narrative, and the
events an incident change emits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from command.errors import Conflict
from command.events import NewEvent
from command.incidents import domain
from command.incidents import store as incidents_store
from command.incidents.domain import STATUS_STAMPS, CommandLevel, Incident, IncidentStatus
from command.unit_of_work import Work
from dispatch import store as dispatch_store


def incident_event(kind: str, inc: Incident, actor: str, /, **data: Any) -> NewEvent:
    return NewEvent(
        f"incident.{kind}", "incident", str(inc.id), {"number": inc.number, **data}, actor
    )


async def directed(work: Work, incident_id: int, level: CommandLevel | None) -> Incident:
    """The incident, locked, for someone directing it at ``level`` (None: the top level).

    Every directing action loads its incident here, so tiered command is enforced in one place
    and under the row lock: an escalation that commits first is seen.
    """
    inc = await incidents_store.get(work.conn, incident_id, lock=True)
    domain.check_direct(inc.number, level, inc.command_level)
    return inc


def check_version(inc: Incident, version: int | None) -> None:
    """Refuse a change made on a copy of the incident that someone else has changed since."""
    if version is not None and version != inc.version:
        raise Conflict(
            f"incident {inc.number} changed since you loaded it (version {version}, now "
            f"{inc.version}); reload and try again",
            code="incident.version_changed",
            number=inc.number,
            version=version,
            current=inc.version,
        )


def require_open(inc: Incident) -> None:
    if not inc.open:
        raise Conflict(
            f"incident {inc.number} is {inc.status}",
            code="incident.not_open",
            number=inc.number,
            status=inc.status.value,
        )


def check_not_merged(inc: Incident, what: str) -> None:
    """A merged incident lives on in the survivor: ``what`` (a verb phrase) goes there."""
    if inc.merged_into is not None:
        raise Conflict(
            f"incident {inc.number} was merged into incident {inc.merged_into}; {what} there",
            code="incident.merged",
            number=inc.number,
            merged_into=inc.merged_into,
            what=what,
        )


async def save(work: Work, inc: Incident, changes: Mapping[str, Any]) -> Incident:
    return await incidents_store.save(work.conn, inc, changes, work.now)


async def note(
    work: Work,
    incident_id: int,
    text: str,
    *,
    code: domain.NarrativeCode,
    params: Mapping[str, Any],
) -> int:
    """A system entry in the narrative: the English ``text`` as the record reads it, with the
    ``code`` and ``params`` a console words it from (docs/errors.md, "Narrative")."""
    entry = domain.system_entry(text, work.actor, work.now, code=code, params=params)
    return await incidents_store.add_narrative(work.conn, incident_id, entry)


async def set_status(
    work: Work,
    inc: Incident,
    to: IncidentStatus,
    reason: str = "",
    extra: Mapping[str, Any] | None = None,
) -> Incident:
    """Move the incident to ``to`` with its time stamp, history row and event."""
    changes: dict[str, Any] = {"status": to, **(extra or {})}
    stamp_col = STATUS_STAMPS.get(to)
    if stamp_col is not None and getattr(inc, stamp_col) is None:
        changes[stamp_col] = work.now
    saved = await save(work, inc, changes)
    await incidents_store.add_status(
        work.conn, inc.id, inc.status, to, work.now, work.actor, reason
    )
    work.emit(
        incident_event(
            "status_changed",
            saved,
            work.actor,
            **{"from": inc.status.value, "to": to.value},
            reason=reason,
        )
    )
    return saved


async def follow_unit(work: Work, inc: Incident, unit_status: str) -> Incident:
    """The incident's next step when one of its units reaches ``unit_status``, if any."""
    target = domain.advance_for_unit(inc.status, unit_status)
    if target is None:
        return inc
    return await set_status(work, inc, target)


async def after_unit_left(work: Work, inc: Incident) -> None:
    """Back to ``new`` when no unit is left on an incident nobody has reached yet."""
    target = domain.after_last_unit_left(inc.status)
    if target is None or await dispatch_store.assignments_of(work.conn, inc.id, open_only=True):
        return
    await set_status(work, inc, target, "no unit left on the way; send another")
