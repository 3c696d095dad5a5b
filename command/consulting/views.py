"""What the consultation service answers with: a consultation with its participants, role
invitations and live media state; an incident's attachment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from video.live import MediaState
from video.sessions import Consultation, Participant


@dataclass(frozen=True)
class Details:
    consultation: Consultation
    participants: list[Participant]
    roles: frozenset[str]
    #: by participant key (``user:name``, ``unit:id``): only those the media plane reported on
    live: dict[str, MediaState]


@dataclass(frozen=True)
class Attachment:
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
    created_by: str
    created_at: datetime
    file_name: str
    #: whose stream it shows (``unit:CMD1``)
    member: str | None = None


@dataclass(frozen=True)
class AttachmentMeta:
    """What the recorder knows of a file beside its bytes."""

    kind: str
    media_type: str
    consultation_id: int | None = None
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    member: str | None = None
