"""Consultation bodies: creating and inviting, muting; a consultation with its participants and
their live media state; an incident's attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from command.api.schemas.common import Model
from command.consulting.views import Attachment, Details
from video.live import MediaState
from video.sessions import MAX_BITRATE_KBPS, MIN_BITRATE_KBPS, TITLE_MAX, Consultation, Participant


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsultationIn(Strict):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    #: the incident it is about (none: a consultation standing alone)
    incident_id: int | None = Field(default=None, ge=1)
    #: what each participant may send (none: the centre's default)
    bitrate_kbps: int | None = Field(default=None, ge=MIN_BITRATE_KBPS, le=MAX_BITRATE_KBPS)


class InviteIn(Strict):
    """Who to invite: users by name, every holder of a role, units by id or callsign."""

    users: list[str] = Field(default_factory=list, max_length=100)
    roles: list[str] = Field(default_factory=list, max_length=10)
    units: list[str] = Field(default_factory=list, max_length=100)


class MuteIn(Strict):
    media: Literal["audio", "video"]
    muted: bool = True


class RecordingIn(Strict):
    #: true: start recording everyone who sends; false: stop (the files are attached after)
    on: bool


class CapIn(Strict):
    #: kbit/s; null lifts the cap (the consultation's applies)
    kbps: int | None = Field(ge=MIN_BITRATE_KBPS, le=MAX_BITRATE_KBPS)


class QualityOut(Model):
    loss: float
    rtt_ms: float
    bitrate_kbps: float
    grade: str


class LiveOut(Model):
    sending_audio: bool
    sending_video: bool
    speaking: bool
    quality: QualityOut | None
    at: datetime | None

    @classmethod
    def of(cls, s: MediaState) -> LiveOut:
        q = s.quality
        return cls(
            sending_audio=s.sending_audio,
            sending_video=s.sending_video,
            speaking=s.speaking,
            quality=None
            if q is None
            else QualityOut(
                loss=q.loss, rtt_ms=q.rtt_ms, bitrate_kbps=q.bitrate_kbps, grade=q.grade
            ),
            at=s.at,
        )


class ParticipantOut(Model):
    member: str
    kind: str
    name: str
    role: str
    state: str
    invited_by: str
    invited_at: datetime
    via_role: str | None
    joined_at: datetime | None
    left_at: datetime | None
    left_reason: str
    audio_muted: bool
    video_muted: bool
    #: the host's cap of what this participant sends (kbit/s); null: the consultation's
    bitrate_kbps: int | None
    #: what the media plane last said (none: nothing reported yet, or not in the room)
    live: LiveOut | None

    @classmethod
    def of(cls, p: Participant, live: MediaState | None) -> ParticipantOut:
        return cls(
            member=p.key,
            kind=p.member.kind.value,
            name=p.member.name,
            role=p.role.value,
            state=p.state.value,
            invited_by=p.invited_by,
            invited_at=p.invited_at,
            via_role=p.via_role,
            joined_at=p.joined_at,
            left_at=p.left_at,
            left_reason=p.left_reason,
            audio_muted=p.audio_muted,
            video_muted=p.video_muted,
            bitrate_kbps=p.bitrate_kbps,
            live=None if live is None else LiveOut.of(live),
        )


class ConsultationSummary(Model):
    id: int
    incident_id: int | None
    title: str
    host: str
    state: str
    room: int
    bitrate_kbps: int
    created_at: datetime
    ended_at: datetime | None
    ended_by: str | None
    #: when its recording started; null: not recording
    recording_since: datetime | None

    @classmethod
    def of(cls, c: Consultation) -> ConsultationSummary:
        return cls(
            id=c.id,
            incident_id=c.incident_id,
            title=c.title,
            host=c.host,
            state=c.state.value,
            room=c.room,
            bitrate_kbps=c.bitrate_kbps,
            created_at=c.created_at,
            ended_at=c.ended_at,
            ended_by=c.ended_by,
            recording_since=c.recording_since,
        )


class ConsultationOut(Model):
    consultation: ConsultationSummary
    participants: list[ParticipantOut]
    #: roles invited: everyone holding one may join
    roles: list[str]

    @classmethod
    def of(cls, d: Details) -> ConsultationOut:
        return cls(
            consultation=ConsultationSummary.of(d.consultation),
            participants=[ParticipantOut.of(p, d.live.get(p.key)) for p in d.participants],
            roles=sorted(d.roles),
        )


class ConsultationList(Model):
    consultations: list[ConsultationSummary]


class AttachmentOut(Model):
    id: int
    incident_id: int
    consultation_id: int | None
    kind: str
    media_type: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    duration_s: float | None
    #: whose stream it shows (``unit:CMD1``)
    member: str | None
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, a: Attachment) -> AttachmentOut:
        return cls(
            id=a.id,
            incident_id=a.incident_id,
            consultation_id=a.consultation_id,
            kind=a.kind,
            media_type=a.media_type,
            size=a.size,
            sha256=a.sha256,
            width=a.width,
            height=a.height,
            duration_s=a.duration_s,
            member=a.member,
            created_by=a.created_by,
            created_at=a.created_at,
        )


class AttachmentList(Model):
    incident_id: int
    attachments: list[AttachmentOut]
