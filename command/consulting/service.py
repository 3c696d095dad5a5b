"""Consultations as a use case: create one (on an incident or alone), invite, admit and let in,
let out, remove, mute, end; the media state consoles show; the files attached to incidents.

Every change is one transaction: the rows, the event and the audit row together
(``command.unit_of_work``). A consultation on an incident writes its events about the incident
(``subject_type`` ``incident``), so the incident's timeline and every console following it see
them, and a sensitive incident's consultation is screened from consoles like the incident
itself; each is noted in the incident's narrative too. A consultation standing alone writes
them about itself (``subject_type`` ``consultation``). Event types: ``consultation.created``,
``.invited``, ``.roles_invited``, ``.participant_joined``, ``.participant_left``,
``.participant_removed``, ``.participant_muted``, ``.ended``, and ``incident.attachment_added``.

The signaling socket reaches this service for what people do in the room: ``admit`` (may this
person or unit join now? raises the refusal with its code, and audits it), ``joined``, ``left``
and ``media``. Those calls come from a socket, not from an HTTP route: the service writes
their audit rows itself (and marks a request's expectation handled). The signaling learns of
removals and of the end from the hub (the events above) and closes the sockets concerned; live
media state (sending, speaking, quality) stays in memory (``command.consulting.live``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import audit, request_audit
from command.auth.service import Principal
from command.consulting import store
from command.consulting.files import AttachmentFiles
from command.consulting.live import LiveBoard
from command.consulting.views import Attachment, AttachmentMeta, Details
from command.errors import Forbidden, InvalidInput, NotFound
from command.events import NewEvent
from command.incidents import changes, sensitivity_store
from command.incidents import store as incidents_store
from command.incidents.access import hidden
from command.incidents.domain import NarrativeCode
from command.incidents.sensitivity import Reader, may_read
from command.unit_of_work import UnitOfWork, Work
from dispatch import store as dispatch_store
from video import sessions
from video.errors import Conflict as VideoConflict
from video.errors import Forbidden as VideoForbidden
from video.live import MediaReport, MediaState
from video.sessions import (
    Admission,
    Consultation,
    ConsultationChanged,
    Media,
    Member,
    MemberKind,
    Participant,
    ParticipantChanged,
    Who,
)

log = logging.getLogger(__name__)

SUPERVISOR = "supervisor"
KINDS = {
    "recording": ("video/webm", "audio/webm"),
    "still": ("image/jpeg", "image/png", "image/webp"),
}
#: the first bytes each stored media type starts with (WebM is EBML; WebP is RIFF....WEBP)
MAGIC = {
    "video/webm": (b"\x1a\x45\xdf\xa3",),
    "audio/webm": (b"\x1a\x45\xdf\xa3",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/webp": (b"RIFF",),
}
MAX_DIMENSION = 100_000


def reader_of(principal: Principal) -> Reader:
    return Reader(principal.kind, principal.name, frozenset(principal.roles))


class Consultations:
    """The consultations of every incident; built once by the bootstrap."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], datetime],
        files: AttachmentFiles,
        live: LiveBoard,
        *,
        bitrate_kbps: int,
        known_roles: Iterable[str],
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.work = UnitOfWork(engine, clock)
        self.files = files
        self.live = live
        self.bitrate_kbps = sessions.check_bitrate(bitrate_kbps)
        self.known_roles = frozenset(known_roles)

    # ------------------------------------------------------------------ who

    async def who(self, conn: AsyncConnection, principal: Principal) -> Who:
        """The member a principal is: a user, or the unit a device token stands for."""
        if principal.kind == "device":
            unit_id = await dispatch_store.unit_named(conn, principal.name)
            if unit_id is None:
                raise Forbidden(
                    f"device {principal.name} is no unit: only people and units take part",
                    code="consultation.device_not_unit",
                    device=principal.name,
                )
            return Who(Member(MemberKind.UNIT, unit_id), frozenset(principal.roles))
        return Who(Member(MemberKind.USER, principal.name), frozenset(principal.roles))

    async def _check_incident(
        self, conn: AsyncConnection, incident_id: int, principal: Principal
    ) -> None:
        """The incident exists and this person may read it (a unit invited to it may)."""
        await incidents_store.get(conn, incident_id)
        if principal.kind != "user":
            return
        marking = await sensitivity_store.get(conn, incident_id)
        if not may_read(reader_of(principal), marking):
            raise hidden(incident_id)

    # ------------------------------------------------------------------ changes by people

    async def create(
        self,
        principal: Principal,
        title: str,
        *,
        incident_id: int | None = None,
        bitrate_kbps: int | None = None,
    ) -> Details:
        """A new consultation hosted by ``principal`` (optionally on an incident)."""
        async with self.work.begin(principal.actor) as work:
            if incident_id is not None:
                await self._check_incident(work.conn, incident_id, principal)
                inc = await incidents_store.get(work.conn, incident_id, lock=True)
                changes.require_open(inc)
            host = await self.who(work.conn, principal)
            cid, room = await store.next_ids(work.conn)
            c, p, event = sessions.create(
                cid,
                incident_id,
                title,
                host,
                room,
                self.bitrate_kbps if bitrate_kbps is None else bitrate_kbps,
                work.now,
            )
            await store.add(work.conn, c)
            await store.put_participant(work.conn, p)
            await self._record(
                work,
                c,
                event,
                f"consultation {c.id} opened: {c.title}",
                code="narrative.consultation_opened",
                params={"consultation_id": c.id, "title": c.title},
            )
            return Details(c, [p], frozenset(), {})

    async def invite(
        self,
        consultation_id: int,
        principal: Principal,
        *,
        users: Iterable[str] = (),
        roles: Iterable[str] = (),
        units: Iterable[str] = (),
    ) -> Details:
        """Invite users by name, everyone holding a role, and units (by id or callsign)."""
        wanted_users = sorted({u.strip() for u in users if u.strip()})
        wanted_roles = sorted({r.strip() for r in roles if r.strip()})
        wanted_units = sorted({u.strip() for u in units if u.strip()})
        if not (wanted_users or wanted_roles or wanted_units):
            raise InvalidInput(
                "name at least one user, role or unit to invite", code="consultation.invite_empty"
            )
        unknown_roles = sorted(set(wanted_roles) - self.known_roles)
        if unknown_roles:
            raise InvalidInput(
                f"unknown role {', '.join(unknown_roles)}",
                code="consultation.role_unknown",
                unknown=unknown_roles,
                known=sorted(self.known_roles),
            )
        async with self.work.begin(principal.actor) as work:
            c = await store.get(work.conn, consultation_id, lock=True)
            by = await self.who(work.conn, principal)
            found = await sensitivity_store.existing_users(work.conn, wanted_users)
            missing = sorted(set(wanted_users) - found)
            if missing:
                raise InvalidInput(
                    f"unknown user {', '.join(missing)}",
                    code="consultation.user_unknown",
                    unknown=missing,
                )
            unit_ids: list[str] = []
            for name in wanted_units:
                unit_id = await dispatch_store.unit_named(work.conn, name)
                if unit_id is None:
                    raise InvalidInput(
                        f"unknown unit {name}", code="consultation.unit_unknown", unit=name
                    )
                unit_ids.append(unit_id)
            current = await store.participants_of(work.conn, c.id, lock=True)
            members = [Member(MemberKind.USER, u) for u in wanted_users] + [
                Member(MemberKind.UNIT, u) for u in sorted(set(unit_ids))
            ]
            for member in members:
                p, event = sessions.invite(c, current.get(member.key), member, by, work.now)
                await store.put_participant(work.conn, p)
                current[p.key] = p
                await self._record(
                    work,
                    c,
                    event,
                    f"consultation {c.id}: {member.key} invited",
                    code="narrative.consultation_invited",
                    params={"consultation_id": c.id, "member": member.key},
                )
            invited = await store.invited_roles(work.conn, c.id)
            new, roles_event = sessions.invite_roles(c, invited, wanted_roles, by, work.now)
            if roles_event is not None:
                await store.add_roles(work.conn, c.id, new, by.member.key, work.now)
                await self._record(
                    work,
                    c,
                    roles_event,
                    f"consultation {c.id}: roles {', '.join(sorted(new))} invited",
                    code="narrative.consultation_roles_invited",
                    params={"consultation_id": c.id, "roles": sorted(new)},
                )
            return Details(c, list(current.values()), invited | new, self.live.of(c.id))

    async def remove(self, consultation_id: int, member: Member, principal: Principal) -> Details:
        async with self.work.begin(principal.actor) as work:
            c, current, by = await self._loaded(work, consultation_id, principal)
            p, event = sessions.remove(c, self._participant(c, current, member), by, work.now)
            await store.put_participant(work.conn, p)
            current[p.key] = p
            await self._record(
                work,
                c,
                event,
                f"consultation {c.id}: {member.key} removed",
                code="narrative.consultation_removed",
                params={"consultation_id": c.id, "member": member.key},
            )
        self.live.drop(c.id, member.key)
        return await self._details(c, current)

    async def mute(
        self,
        consultation_id: int,
        member: Member,
        media: Media,
        muted: bool,
        principal: Principal,
    ) -> Details:
        async with self.work.begin(principal.actor) as work:
            c, current, by = await self._loaded(work, consultation_id, principal)
            p, event = sessions.mute(
                c, self._participant(c, current, member), media, muted, by, work.now
            )
            await store.put_participant(work.conn, p)
            current[p.key] = p
            verb = "muted" if muted else "unmuted"
            await self._record(
                work,
                c,
                event,
                f"consultation {c.id}: {member.key} {media} {verb}",
                code="narrative.consultation_muted" if muted else "narrative.consultation_unmuted",
                params={"consultation_id": c.id, "member": member.key, "media": media.value},
            )
        return await self._details(c, current)

    async def cap(
        self, consultation_id: int, member: Member, kbps: int | None, principal: Principal
    ) -> Details:
        async with self.work.begin(principal.actor) as work:
            c, current, by = await self._loaded(work, consultation_id, principal)
            p, event = sessions.cap(c, self._participant(c, current, member), kbps, by, work.now)
            await store.put_participant(work.conn, p)
            current[p.key] = p
            capped = None if kbps is None else sessions.sending_cap(c, p)
            what = "lifted" if capped is None else f"{capped} kbit/s"
            await self._record(
                work,
                c,
                event,
                f"consultation {c.id}: {member.key} capped: {what}",
                code=(
                    "narrative.consultation_cap_lifted"
                    if capped is None
                    else "narrative.consultation_capped"
                ),
                params={"consultation_id": c.id, "member": member.key}
                | ({} if capped is None else {"kbps": capped}),
            )
        return await self._details(c, current)

    async def end(self, consultation_id: int, principal: Principal) -> Details:
        """Ended by its host or a supervisor: everyone still in has left."""
        async with self.work.begin(principal.actor) as work:
            c, current, by = await self._loaded(work, consultation_id, principal)
            ended, out, event = sessions.end(c, current.values(), by, work.now)
            await store.save(work.conn, ended)
            for p in out:
                await store.put_participant(work.conn, p)
                current[p.key] = p
            await self._record(
                work,
                ended,
                event,
                f"consultation {c.id} ended",
                code="narrative.consultation_ended",
                params={"consultation_id": c.id},
            )
        self.live.drop(c.id)
        return Details(ended, list(current.values()), frozenset(), {})

    async def recording(
        self,
        consultation_id: int,
        principal: Principal,
        on: bool,
        effect: Callable[[Consultation], Awaitable[None]],
    ) -> Details:
        """Start (``on``) or stop its recording. ``effect`` (the media plane's part) runs once
        the change is allowed, under the consultation's lock and before the commit: when it
        fails, nothing has changed."""
        async with self.work.begin(principal.actor) as work:
            c, current, by = await self._loaded(work, consultation_id, principal)
            if on:
                changed, event = sessions.start_recording(c, by, work.now)
            else:
                changed, event = sessions.stop_recording(c, by, work.now)
            await effect(c)
            await store.save(work.conn, changed)
            verb = "started" if on else "stopped"
            await self._record(
                work,
                changed,
                event,
                f"consultation {c.id}: recording {verb}",
                code=(
                    "narrative.consultation_recording_started"
                    if on
                    else "narrative.consultation_recording_stopped"
                ),
                params={"consultation_id": c.id},
            )
        return await self._details(changed, current)

    async def still_allowed(
        self, consultation_id: int, member: Member, principal: Principal
    ) -> tuple[Consultation, int]:
        """May ``principal`` take a still of ``member`` now? The consultation and the incident
        the still goes to."""
        async with self.work.read() as conn:
            c = await store.get(conn, consultation_id)
            current = await store.participants_of(conn, c.id)
            incident_id = sessions.may_take_still(c, current, await self.who(conn, principal),
                                                  member)
        return c, incident_id

    # ------------------------------------------------------------------ the signaling's calls

    async def admit(self, consultation_id: int, principal: Principal, source: str) -> Admission:
        """May ``principal`` join now, and on what terms? Refusals (``consultation.not_found``,
        ``.ended``, ``.not_invited``, ``.removed``, ``.device_not_unit``, ``incident.not_found``
        for an incident this person may not read) are raised, and audited."""
        try:
            async with self.work.read() as conn:
                return await self._admission(conn, consultation_id, principal)
        except (NotFound, Forbidden, VideoForbidden, VideoConflict) as refused:
            await self._audit_refusal(principal, consultation_id, source, refused)
            raise

    async def joined(self, consultation_id: int, principal: Principal, source: str) -> Admission:
        """The participant is in the room (its media connection is up): checked again under
        the consultation's lock, stored, on the timeline and audited."""
        try:
            async with self.work.begin(principal.actor) as work:
                admitted = await self._admission(work.conn, consultation_id, principal, lock=True)
                c = await store.get(work.conn, consultation_id)
                current = await store.participants_of(work.conn, c.id, lock=True)
                p, event = sessions.join(c, admitted, current.get(admitted.member.key), work.now)
                await store.put_participant(work.conn, p)
                await self._record(
                    work,
                    c,
                    event,
                    f"consultation {c.id}: {p.key} joined",
                    code="narrative.consultation_joined",
                    params={"consultation_id": c.id, "member": p.key},
                    source=source,
                )
                return replace(admitted, join=p.joins)
        except (NotFound, Forbidden, VideoForbidden, VideoConflict) as refused:
            await self._audit_refusal(principal, consultation_id, source, refused)
            raise

    async def left(
        self, consultation_id: int, principal: Principal, reason: str, source: str, *,
        join: int | None = None,
    ) -> Participant:
        """The participant's media connection is gone (hung up, lost): it may join again.
        ``join``: which connection (``Admission.join``); a replaced one is refused
        (``consultation.connected_elsewhere``) and changes nothing."""
        async with self.work.begin(principal.actor) as work:
            c = await store.get(work.conn, consultation_id, lock=True)
            who = await self.who(work.conn, principal)
            current = await store.participants_of(work.conn, c.id, lock=True)
            p, event = sessions.leave(
                c, self._participant(c, current, who.member), reason, work.now, join=join
            )
            await store.put_participant(work.conn, p)
            await self._record(
                work,
                c,
                event,
                f"consultation {c.id}: {p.key} left ({p.left_reason})",
                code="narrative.consultation_left",
                params={"consultation_id": c.id, "member": p.key, "reason": p.left_reason},
                source=source,
            )
        self.live.drop(c.id, p.key)
        return p

    def media(self, consultation_id: int, member: Member, report: MediaReport) -> MediaState:
        """A media report from the media plane: live state only, no row (see the module)."""
        return self.live.report(consultation_id, member.key, report, self.clock())

    # ------------------------------------------------------------------ reading

    async def details(self, consultation_id: int, principal: Principal) -> Details:
        """The consultation for a participant (any state, or invited by a role it holds) or a
        supervisor; anyone else is refused (``consultation.not_participant``)."""
        async with self.work.read() as conn:
            c = await store.get(conn, consultation_id)
            if c.incident_id is not None:
                await self._check_incident(conn, c.incident_id, principal)
            current = await store.participants_of(conn, c.id)
            roles = await store.invited_roles(conn, c.id)
            who = await self.who(conn, principal)
        if not (who.supervisor or who.member.key in current or who.roles & roles):
            raise Forbidden(
                f"consultation {c.id} is open to its participants and supervisors",
                code="consultation.not_participant",
                consultation_id=c.id,
            )
        return Details(c, list(current.values()), roles, self.live.of(c.id))

    async def listed(
        self, principal: Principal, *, incident_id: int | None = None, open_only: bool = False
    ) -> list[Consultation]:
        """Those ``principal`` takes part in (all of them for a supervisor), of one incident
        or of every one."""
        async with self.work.read() as conn:
            if incident_id is not None:
                await self._check_incident(conn, incident_id, principal)
            who = await self.who(conn, principal)
            return await store.listed(
                conn,
                incident_id=incident_id,
                member=None if who.supervisor else who.member,
                roles=who.roles,
                open_only=open_only,
            )

    # ------------------------------------------------------------------ attachments

    async def attach(
        self,
        incident_id: int,
        source: bytes | Path,
        meta: AttachmentMeta,
        actor: str,
        origin: str = "media",
    ) -> Attachment:
        """Store a recording or a still for the incident: the file first (atomically, named by
        its checksum), then its row with the event and the audit row, which commit it."""
        check_meta(meta)
        check_content(source, meta.media_type)
        stored = await asyncio.to_thread(self.files.put, source, meta.media_type)
        async with self.work.begin(actor) as work:
            inc = await incidents_store.get(work.conn, incident_id)
            if meta.consultation_id is not None:
                c = await store.get(work.conn, meta.consultation_id)
                if c.incident_id != incident_id:
                    raise InvalidInput(
                        f"consultation {c.id} is not about incident {inc.number}",
                        code="attachment.consultation_mismatch",
                        consultation_id=c.id,
                        number=inc.number,
                    )
            same = await store.attachment_with(work.conn, incident_id, stored.sha256)
            if same is not None:
                return same  # attached before (a retried conversion, the same still twice)
            found = await store.add_attachment(
                work.conn,
                {
                    "incident_id": incident_id,
                    "consultation_id": meta.consultation_id,
                    "kind": meta.kind,
                    "media_type": meta.media_type,
                    "size": stored.size,
                    "sha256": stored.sha256,
                    "width": meta.width,
                    "height": meta.height,
                    "duration_s": meta.duration_s,
                    "created_by": actor,
                    "created_at": work.now,
                    "file_name": stored.name,
                    "member": meta.member,
                },
            )
            view = asdict(found)
            view.pop("file_name")
            view["created_at"] = found.created_at.isoformat()
            await changes.note(
                work,
                incident_id,
                f"{meta.kind} attached ({stored.size} bytes)",
                code="narrative.attachment_added",
                params={"kind": meta.kind, "size_bytes": stored.size},
            )
            work.emit(changes.incident_event("attachment_added", inc, actor, **view))
            await _own_audit(work, "incident.attach", "incident", str(incident_id), origin)
            return found

    async def attachments(self, incident_id: int) -> list[Attachment]:
        async with self.work.read() as conn:
            await incidents_store.get(conn, incident_id)
            return await store.attachments_of(conn, incident_id)

    async def attachment(self, incident_id: int, attachment_id: int) -> tuple[Attachment, Path]:
        """One attachment and its stored file (access to the incident is the caller's check)."""
        async with self.work.read() as conn:
            found = await store.get_attachment(conn, incident_id, attachment_id)
        return found, self.files.path_of(found.file_name)

    # ------------------------------------------------------------------ helpers

    async def _admission(
        self,
        conn: AsyncConnection,
        consultation_id: int,
        principal: Principal,
        *,
        lock: bool = False,
    ) -> Admission:
        c = await store.get(conn, consultation_id, lock=lock)
        who = await self.who(conn, principal)
        admitted = sessions.admission(
            c,
            await store.participants_of(conn, c.id),
            await store.invited_roles(conn, c.id),
            who,
        )
        if c.incident_id is not None:
            await self._check_incident(conn, c.incident_id, principal)
        return admitted

    async def _loaded(
        self, work: Work, consultation_id: int, principal: Principal
    ) -> tuple[Consultation, dict[str, Participant], Who]:
        c = await store.get(work.conn, consultation_id, lock=True)
        return (
            c,
            await store.participants_of(work.conn, c.id, lock=True),
            await self.who(work.conn, principal),
        )

    @staticmethod
    def _participant(
        c: Consultation, current: dict[str, Participant], member: Member
    ) -> Participant:
        found = current.get(member.key)
        if found is None:
            raise NotFound(
                f"{member.key} takes no part in consultation {c.id}",
                code="consultation.participant_unknown",
                consultation_id=c.id,
                member=member.key,
            )
        return found

    async def _details(self, c: Consultation, current: dict[str, Participant]) -> Details:
        async with self.work.read() as conn:
            roles = await store.invited_roles(conn, c.id)
        return Details(c, list(current.values()), roles, self.live.of(c.id))

    async def _record(
        self,
        work: Work,
        c: Consultation,
        change: ParticipantChanged | ConsultationChanged,
        note: str,
        *,
        code: NarrativeCode,
        params: Mapping[str, Any],
        source: str | None = None,
    ) -> None:
        """The change's event (about the incident when there is one, with a narrative note:
        ``note`` in English, ``code`` and ``params`` to word it); with ``source``, the audit row
        too (a call from the signaling, not a route)."""
        data: dict[str, Any] = {"consultation_id": c.id, "room": c.room, **change.detail}
        if isinstance(change, ParticipantChanged):
            data |= {"member": change.member.key, "state": change.state.value}
            kind = change.kind if change.kind == "invited" else f"participant_{change.kind}"
        else:
            kind = change.kind
        if c.incident_id is not None:
            inc = await incidents_store.get(work.conn, c.incident_id)
            data["number"] = inc.number
            await changes.note(work, c.incident_id, note, code=code, params=params)
            work.emit(
                NewEvent(f"consultation.{kind}", "incident", str(c.incident_id), data, change.by)
            )
        else:
            work.emit(NewEvent(f"consultation.{kind}", "consultation", str(c.id), data, change.by))
        if source is not None:
            await _own_audit(work, f"consultation.{kind}", "consultation", str(c.id), source)

    async def _audit_refusal(
        self, principal: Principal, consultation_id: int, source: str, refused: Exception
    ) -> None:
        async with self.engine.begin() as conn:
            await audit.record(
                conn,
                actor=principal.actor,
                action="consultation.admit",
                object_type="consultation",
                object_id=str(consultation_id),
                source=source,
                result="refused",
                detail={"code": str(getattr(refused, "code", "")), "message": str(refused)},
            )


async def _own_audit(
    work: Work, action: str, object_type: str, object_id: str, source: str
) -> None:
    """The audit row of a change no route's role check expects (the signaling's, the
    recorder's), in the change's transaction; a request's own expectation is then settled."""
    request_audit.handled()
    await audit.record(
        work.conn,
        actor=work.actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        source=source,
        result="ok",
    )


def check_meta(meta: AttachmentMeta) -> None:
    allowed = KINDS.get(meta.kind)
    if allowed is None:
        raise InvalidInput(
            f"unknown attachment kind {meta.kind!r}; known: {', '.join(sorted(KINDS))}",
            code="attachment.kind_unknown",
            kind=meta.kind,
            known=sorted(KINDS),
        )
    if meta.media_type not in allowed:
        raise InvalidInput(
            f"a {meta.kind} is one of {', '.join(allowed)}, not {meta.media_type}",
            code="attachment.media_type_mismatch",
            kind=meta.kind,
            media_type=meta.media_type,
            allowed=list(allowed),
        )
    for name, value in (("width", meta.width), ("height", meta.height)):
        if value is not None and not 0 < value <= MAX_DIMENSION:
            raise InvalidInput(
                f"{name} {value} is outside 1..{MAX_DIMENSION}",
                code="attachment.dimension_range",
                field=name,
                value=value,
                max=MAX_DIMENSION,
            )
    if meta.duration_s is not None and not 0 <= meta.duration_s < 7 * 24 * 3600:
        raise InvalidInput(
            f"duration {meta.duration_s} s is out of range",
            code="attachment.duration_range",
            duration_s=meta.duration_s,
        )


def check_content(source: bytes | Path, media_type: str) -> None:
    """The file starts as its media type says (a still that is no image is refused)."""
    if isinstance(source, bytes):
        head = source[:16]
    else:
        with source.open("rb") as f:
            head = f.read(16)
    magic = MAGIC.get(media_type, ())
    webp_ok = media_type != "image/webp" or head[8:12] == b"WEBP"
    if not any(head.startswith(m) for m in magic) or not webp_ok:
        raise InvalidInput(
            f"the file's content is not {media_type}",
            code="attachment.content_mismatch",
            media_type=media_type,
        )
