"""Video consultations over HTTP: create one (on an incident or alone), list mine or an
incident's, read one with its participants and their live media state, invite, mute, remove,
record, take a still and end; and the files (recordings, stills) attached to an incident.

Roles: dispatchers, supervisors and leaders create consultations; every person who works
incidents, and a unit's terminal, may take part, and the service decides what each may do in a
consultation (its host mutes, removes and ends; a supervisor may end any; only participants and
supervisors read one). An incident's attachments are for those who may read the incident.
Joining and leaving happen over the signaling socket, not here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse

from command.api.deps import ContainerDep, require_roles
from command.api.incident_access import incident_reader
from command.api.incidents import READERS
from command.api.schemas.consultations import (
    AttachmentList,
    AttachmentOut,
    CapIn,
    ConsultationIn,
    ConsultationList,
    ConsultationOut,
    ConsultationSummary,
    InviteIn,
    MuteIn,
    RecordingIn,
)
from command.auth.roles import Role
from command.auth.service import Principal
from video.sessions import Media, Member, MemberKind

router = APIRouter(prefix="/api/v1", tags=["consultations"])

R = Role
PARTICIPANTS = (R.CALL_TAKER, R.DISPATCHER, R.LEADER, R.SUPERVISOR, R.ADMIN, R.FIELD_UNIT)
Creator = Annotated[Principal, Depends(require_roles(R.DISPATCHER, R.SUPERVISOR, R.LEADER))]
Participant = Annotated[Principal, Depends(require_roles(*PARTICIPANTS))]
ReaderOf = Annotated[Principal, Depends(incident_reader(*READERS))]


def _member(kind: Literal["user", "unit"], name: str) -> Member:
    """The participant a route's path names (``.../participants/{kind}/{name}/...``)."""
    return Member(MemberKind(kind), name)


Named = Annotated[Member, Depends(_member)]


@router.post("/consultations", status_code=201)
async def create(body: ConsultationIn, who: Creator, c: ContainerDep) -> ConsultationOut:
    """A new consultation; its creator is its host."""
    found = await c.consultations.create(
        who, body.title, incident_id=body.incident_id, bitrate_kbps=body.bitrate_kbps
    )
    return ConsultationOut.of(found)


@router.get("/consultations")
async def listed(
    who: Participant,
    c: ContainerDep,
    incident_id: Annotated[int | None, Query(ge=1)] = None,
    open_only: bool = False,
) -> ConsultationList:
    """Those I take part in (every one, for a supervisor), optionally of one incident."""
    found = await c.consultations.listed(who, incident_id=incident_id, open_only=open_only)
    return ConsultationList(consultations=[ConsultationSummary.of(x) for x in found])


@router.get("/consultations/{consultation_id}")
async def details(consultation_id: int, who: Participant, c: ContainerDep) -> ConsultationOut:
    return ConsultationOut.of(await c.consultations.details(consultation_id, who))


@router.post("/consultations/{consultation_id}/invitations")
async def invite(
    consultation_id: int, body: InviteIn, who: Participant, c: ContainerDep
) -> ConsultationOut:
    found = await c.consultations.invite(
        consultation_id, who, users=body.users, roles=body.roles, units=body.units
    )
    return ConsultationOut.of(found)


@router.post("/consultations/{consultation_id}/participants/{kind}/{name}/mute")
async def mute(
    consultation_id: int,
    member: Named,
    body: MuteIn,
    who: Participant,
    c: ContainerDep,
) -> ConsultationOut:
    found = await c.consultations.mute(
        consultation_id, member, Media(body.media), body.muted, who
    )
    return ConsultationOut.of(found)


@router.post("/consultations/{consultation_id}/participants/{kind}/{name}/bitrate")
async def cap(
    consultation_id: int,
    member: Named,
    body: CapIn,
    who: Participant,
    c: ContainerDep,
) -> ConsultationOut:
    """The host caps what one participant sends (a vehicle on a weak link), at once and on
    every later join; ``kbps`` null lifts it. Never above the consultation's cap."""
    found = await c.consultations.cap(consultation_id, member, body.kbps, who)
    return ConsultationOut.of(found)


@router.post("/consultations/{consultation_id}/participants/{kind}/{name}/remove")
async def remove(
    consultation_id: int,
    member: Named,
    who: Participant,
    c: ContainerDep,
) -> ConsultationOut:
    found = await c.consultations.remove(consultation_id, member, who)
    return ConsultationOut.of(found)


@router.post("/consultations/{consultation_id}/end")
async def end(consultation_id: int, who: Participant, c: ContainerDep) -> ConsultationOut:
    """Ended for everyone; a recording that runs is stopped and attached."""
    return ConsultationOut.of(await c.recordings.end(consultation_id, who))


@router.post("/consultations/{consultation_id}/recording")
async def recording(
    consultation_id: int, body: RecordingIn, who: Participant, c: ContainerDep
) -> ConsultationOut:
    """Start or stop recording (the host, or a supervisor). Each sender's recording is
    attached to the incident as a WebM shortly after the stop (``attachment_added``)."""
    if body.on:
        found = await c.recordings.start_recording(consultation_id, who)
    else:
        found = await c.recordings.stop_recording(consultation_id, who)
    return ConsultationOut.of(found)


@router.post("/consultations/{consultation_id}/participants/{kind}/{name}/still",
             status_code=201)
async def still(
    consultation_id: int,
    member: Named,
    who: Participant,
    c: ContainerDep,
) -> AttachmentOut:
    """A still picture of the participant's video, attached to the incident (JPEG)."""
    found = await c.recordings.still(consultation_id, member, who)
    return AttachmentOut.of(found)


# ---------------------------------------------------------------------- attachments


@router.get("/incidents/{incident_id}/attachments")
async def attachments(incident_id: int, _: ReaderOf, c: ContainerDep) -> AttachmentList:
    found = await c.consultations.attachments(incident_id)
    return AttachmentList(incident_id=incident_id, attachments=[AttachmentOut.of(a) for a in found])


@router.get(
    "/incidents/{incident_id}/attachments/{attachment_id}",
    response_class=FileResponse,
    responses={200: {"content": {"video/webm": {}, "image/jpeg": {}, "image/png": {}}}},
)
async def download(
    incident_id: int, attachment_id: int, _: ReaderOf, c: ContainerDep
) -> FileResponse:
    """The stored file, with its media type and its checksum (``X-Content-SHA256``)."""
    found, path = await c.consultations.attachment(incident_id, attachment_id)
    return FileResponse(
        path,
        media_type=found.media_type,
        filename=f"incident-{incident_id}-{found.kind}-{found.id}{path.suffix}",
        headers={"X-Content-SHA256": found.sha256},
    )
