"""Consultations, participants, role invitations and incident attachments in SQL (the caller's
connection and transaction)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from command.consulting.tables import attachments, consultations, invitations, participants
from command.consulting.views import Attachment
from command.errors import NotFound
from video.sessions import (
    Consultation,
    ConsultationState,
    Member,
    MemberKind,
    Participant,
    ParticipantRole,
    ParticipantState,
)

_ROOM = text("SELECT nextval('consultation_rooms')")
_ID = text("SELECT nextval(pg_get_serial_sequence('consultations', 'id'))")


def not_found(consultation_id: int) -> NotFound:
    return NotFound(
        f"consultation {consultation_id} does not exist",
        code="consultation.not_found",
        consultation_id=consultation_id,
    )


async def next_ids(conn: AsyncConnection) -> tuple[int, int]:
    """A new consultation's id and media room."""
    return int(await conn.scalar(_ID) or 0), int(await conn.scalar(_ROOM) or 0)


async def add(conn: AsyncConnection, c: Consultation) -> None:
    await conn.execute(
        consultations.insert().values(
            id=c.id,
            incident_id=c.incident_id,
            title=c.title,
            host=c.host,
            state=c.state.value,
            room=c.room,
            bitrate_kbps=c.bitrate_kbps,
            created_at=c.created_at,
        )
    )


async def get(conn: AsyncConnection, consultation_id: int, *, lock: bool = False) -> Consultation:
    query = select(consultations).where(consultations.c.id == consultation_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise not_found(consultation_id)
    return _consultation(row)


async def save(conn: AsyncConnection, c: Consultation) -> None:
    await conn.execute(
        consultations.update()
        .where(consultations.c.id == c.id)
        .values(
            state=c.state.value,
            ended_at=c.ended_at,
            ended_by=c.ended_by,
            recording_since=c.recording_since,
            version=consultations.c.version + 1,
        )
    )


async def listed(
    conn: AsyncConnection,
    *,
    incident_id: int | None = None,
    member: Member | None = None,
    roles: Iterable[str] = (),
    open_only: bool = False,
    limit: int = 200,
) -> list[Consultation]:
    """Consultations of an incident, or those ``member`` is a participant in or invited to by
    one of ``roles``; newest first."""
    query = select(consultations)
    if incident_id is not None:
        query = query.where(consultations.c.incident_id == incident_id)
    if member is not None:
        mine = select(participants.c.consultation_id).where(
            participants.c.kind == member.kind.value, participants.c.name == member.name
        )
        by_role = select(invitations.c.consultation_id).where(invitations.c.role.in_(sorted(roles)))
        query = query.where(or_(consultations.c.id.in_(mine), consultations.c.id.in_(by_role)))
    if open_only:
        query = query.where(consultations.c.state == ConsultationState.OPEN.value)
    rows = await conn.execute(query.order_by(consultations.c.id.desc()).limit(limit))
    return [_consultation(r) for r in rows]


async def participants_of(
    conn: AsyncConnection, consultation_id: int, *, lock: bool = False
) -> dict[str, Participant]:
    query = (
        select(participants)
        .where(participants.c.consultation_id == consultation_id)
        .order_by(participants.c.invited_at, participants.c.kind, participants.c.name)
    )
    if lock:
        query = query.with_for_update()
    found = [_participant(r) for r in await conn.execute(query)]
    return {p.key: p for p in found}


async def put_participant(conn: AsyncConnection, p: Participant) -> None:
    values: dict[str, Any] = {
        "role": p.role.value,
        "state": p.state.value,
        "invited_by": p.invited_by,
        "invited_at": p.invited_at,
        "via_role": p.via_role,
        "joined_at": p.joined_at,
        "left_at": p.left_at,
        "left_reason": p.left_reason,
        "audio_muted": p.audio_muted,
        "video_muted": p.video_muted,
        "joins": p.joins,
        "bitrate_kbps": p.bitrate_kbps,
    }
    statement = insert(participants).values(
        consultation_id=p.consultation_id, kind=p.member.kind.value, name=p.member.name, **values
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[
                participants.c.consultation_id,
                participants.c.kind,
                participants.c.name,
            ],
            set_=values,
        )
    )


async def invited_roles(conn: AsyncConnection, consultation_id: int) -> frozenset[str]:
    rows = await conn.execute(
        select(invitations.c.role).where(invitations.c.consultation_id == consultation_id)
    )
    return frozenset(r.role for r in rows)


async def add_roles(
    conn: AsyncConnection, consultation_id: int, roles: Iterable[str], by: str, at: datetime
) -> None:
    wanted = sorted(roles)
    if wanted:
        await conn.execute(
            insert(invitations)
            .values(
                [
                    {
                        "consultation_id": consultation_id,
                        "role": r,
                        "invited_by": by,
                        "invited_at": at,
                    }
                    for r in wanted
                ]
            )
            .on_conflict_do_nothing()
        )


async def add_attachment(conn: AsyncConnection, values: dict[str, Any]) -> Attachment:
    row = (await conn.execute(attachments.insert().values(**values).returning(attachments))).one()
    return Attachment(**row._mapping)


async def attachment_with(
    conn: AsyncConnection, incident_id: int, sha256: str
) -> Attachment | None:
    row = (
        await conn.execute(
            select(attachments).where(
                attachments.c.incident_id == incident_id, attachments.c.sha256 == sha256
            )
        )
    ).first()
    return None if row is None else Attachment(**row._mapping)


async def attachments_of(conn: AsyncConnection, incident_id: int) -> list[Attachment]:
    rows = await conn.execute(
        select(attachments)
        .where(attachments.c.incident_id == incident_id)
        .order_by(attachments.c.id)
    )
    return [Attachment(**r._mapping) for r in rows]


async def get_attachment(conn: AsyncConnection, incident_id: int, attachment_id: int) -> Attachment:
    row = (
        await conn.execute(
            select(attachments).where(
                attachments.c.id == attachment_id, attachments.c.incident_id == incident_id
            )
        )
    ).first()
    if row is None:
        raise NotFound(
            f"incident {incident_id} has no attachment {attachment_id}",
            code="attachment.not_found",
            incident_id=incident_id,
            attachment_id=attachment_id,
        )
    return Attachment(**row._mapping)


async def count(conn: AsyncConnection) -> int:
    """Consultations in all (for tests and the health page)."""
    return int(await conn.scalar(select(func.count()).select_from(consultations)) or 0)


def _consultation(r: Row[Any]) -> Consultation:
    return Consultation(
        id=r.id,
        incident_id=r.incident_id,
        title=r.title,
        host=r.host,
        state=ConsultationState(r.state),
        room=r.room,
        bitrate_kbps=r.bitrate_kbps,
        created_at=r.created_at,
        ended_at=r.ended_at,
        ended_by=r.ended_by,
        recording_since=r.recording_since,
    )


def _participant(r: Row[Any]) -> Participant:
    return Participant(
        consultation_id=r.consultation_id,
        member=Member(MemberKind(r.kind), r.name),
        role=ParticipantRole(r.role),
        state=ParticipantState(r.state),
        invited_by=r.invited_by,
        invited_at=r.invited_at,
        via_role=r.via_role,
        joined_at=r.joined_at,
        left_at=r.left_at,
        left_reason=r.left_reason,
        audio_muted=r.audio_muted,
        video_muted=r.video_muted,
        joins=r.joins,
        bitrate_kbps=r.bitrate_kbps,
    )
