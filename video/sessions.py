"""Consultation sessions (视频会商): the consultation, its participants, and every rule of who
may be in it, as pure transitions (no I/O).

A consultation belongs to an incident or stands alone; its creator is its host. It is ``open``
until the host (or a supervisor) ends it. People and units take part as participants: invited
(by name, or a unit), then joined, then left or removed. A role may be invited too: everyone who
holds it may join, and becomes a participant when they first do.

Rules (each refusal has a stable code, listed in docs/errors.md):

- joining needs an open consultation (``consultation.ended``), an invitation to oneself or to a
  role one holds (``consultation.not_invited``), and not having been removed
  (``consultation.removed``: only a new invitation lets a removed participant back in);
- a participant who left may join again without a new invitation, and one whose connection
  dropped may join while still ``joined`` (a vehicle that changed networks): the same
  participant, joined again;
- the host mutes, removes and ends; a member who tries gets ``consultation.host_only``; a
  supervisor may end any consultation; the host cannot be removed
  (``consultation.host_not_removable``).

Every transition returns the new state and the event that says what happened; the caller stores
both (``command.consulting``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from video.errors import Conflict, Forbidden, InvalidInput

#: the bitrate range a participant's sending may be capped to, in kbit/s
MIN_BITRATE_KBPS = 64
MAX_BITRATE_KBPS = 20_000
TITLE_MAX = 200
REASON_MAX = 200


class ConsultationState(StrEnum):
    OPEN = "open"
    ENDED = "ended"


class ParticipantState(StrEnum):
    INVITED = "invited"
    JOINED = "joined"
    LEFT = "left"
    REMOVED = "removed"


class MemberKind(StrEnum):
    """A person who signs in, or a unit (its terminal or its vehicle's agent)."""

    USER = "user"
    UNIT = "unit"


class ParticipantRole(StrEnum):
    HOST = "host"
    MEMBER = "member"


class Media(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"


def parse_media(value: str) -> Media:
    try:
        return Media(value)
    except ValueError:
        known = [m.value for m in Media]
        raise InvalidInput(
            f"unknown media {value!r}; known: {', '.join(known)}",
            code="consultation.media_unknown",
            media=value,
            known=known,
        ) from None


@dataclass(frozen=True)
class Member:
    """Who a participant is: a user by user name, or a unit by unit id."""

    kind: MemberKind
    name: str

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.name}"


@dataclass(frozen=True)
class Who:
    """Who asks to take part: the member they are and the roles they hold (a unit's device
    holds ``field_unit``). ``supervisor`` may end any consultation."""

    member: Member
    roles: frozenset[str] = frozenset()

    @property
    def supervisor(self) -> bool:
        return "supervisor" in self.roles


@dataclass(frozen=True)
class Consultation:
    id: int
    incident_id: int | None
    title: str
    #: the host's member key (``user:name``)
    host: str
    state: ConsultationState
    #: the media plane's room for this consultation
    room: int
    #: what each participant may send, unless the media plane lowers it
    bitrate_kbps: int
    created_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None
    #: when its recording started; None: not recording
    recording_since: datetime | None = None

    @property
    def open(self) -> bool:
        return self.state is ConsultationState.OPEN


@dataclass(frozen=True)
class Participant:
    consultation_id: int
    member: Member
    role: ParticipantRole
    state: ParticipantState
    invited_by: str
    invited_at: datetime
    #: the role invitation it joined by (None: invited by name or as a unit)
    via_role: str | None = None
    joined_at: datetime | None = None
    left_at: datetime | None = None
    left_reason: str = ""
    audio_muted: bool = False
    video_muted: bool = False
    #: times it joined (a rejoin after a dropped connection counts)
    joins: int = 0
    #: the host's cap of this participant's sending (kbit/s); None: the consultation's
    bitrate_kbps: int | None = None

    @property
    def key(self) -> str:
        return self.member.key


@dataclass(frozen=True)
class ParticipantChanged:
    """Domain event: ``kind`` is ``invited``, ``joined``, ``left``, ``removed`` or ``muted``."""

    kind: str
    consultation_id: int
    member: Member
    state: ParticipantState
    at: datetime
    by: str
    detail: Mapping[str, object]


@dataclass(frozen=True)
class ConsultationChanged:
    """Domain event: ``kind`` is ``created``, ``roles_invited`` or ``ended``."""

    kind: str
    consultation_id: int
    at: datetime
    by: str
    detail: Mapping[str, object]


@dataclass(frozen=True)
class Admission:
    """What the signaling needs to let someone into the media room."""

    consultation_id: int
    incident_id: int | None
    room: int
    member: Member
    role: ParticipantRole
    bitrate_kbps: int
    audio_muted: bool
    video_muted: bool
    #: the participant row exists (False: joining by a role invitation makes it)
    known: bool
    #: the participant was already in (a rejoin after a dropped connection)
    rejoin: bool
    via_role: str | None = None
    #: which of the participant's joins this connection is (its ``joins`` once in): a later
    #: join, in any process, replaces this connection
    join: int = 0


# ---------------------------------------------------------------------- checks


def check_title(title: str) -> str:
    cleaned = title.strip()
    if not cleaned or len(cleaned) > TITLE_MAX:
        raise InvalidInput(
            f"a consultation's title is 1 to {TITLE_MAX} characters",
            code="consultation.title_invalid",
            max=TITLE_MAX,
        )
    return cleaned


def check_bitrate(kbps: int) -> int:
    if not MIN_BITRATE_KBPS <= kbps <= MAX_BITRATE_KBPS:
        raise InvalidInput(
            f"bitrate {kbps} kbit/s is outside {MIN_BITRATE_KBPS}..{MAX_BITRATE_KBPS}",
            code="consultation.bitrate_range",
            kbps=kbps,
            min=MIN_BITRATE_KBPS,
            max=MAX_BITRATE_KBPS,
        )
    return kbps


def require_open(c: Consultation) -> None:
    if not c.open:
        raise Conflict(
            f"consultation {c.id} has ended", code="consultation.ended", consultation_id=c.id
        )


def require_host(c: Consultation, who: Who, action: str, *, supervisor_may: bool = False) -> None:
    """Refuse ``action`` to anyone but the host (and a supervisor when ``supervisor_may``)."""
    if who.member.key == c.host or (supervisor_may and who.supervisor):
        return
    raise Forbidden(
        f"only the host of consultation {c.id} may {action}",
        code="consultation.host_only",
        consultation_id=c.id,
        action=action,
    )


# ---------------------------------------------------------------------- transitions


def create(
    consultation_id: int,
    incident_id: int | None,
    title: str,
    host: Who,
    room: int,
    bitrate_kbps: int,
    at: datetime,
) -> tuple[Consultation, Participant, ConsultationChanged]:
    """A new open consultation, its host as its first (invited) participant, and the event."""
    if host.member.kind is not MemberKind.USER:
        raise Forbidden(
            "a consultation is hosted by a person, not a unit",
            code="consultation.host_not_person",
            member=host.member.key,
        )
    c = Consultation(
        consultation_id,
        incident_id,
        check_title(title),
        host.member.key,
        ConsultationState.OPEN,
        room,
        check_bitrate(bitrate_kbps),
        at,
    )
    p = Participant(
        c.id, host.member, ParticipantRole.HOST, ParticipantState.INVITED, host.member.key, at
    )
    event = ConsultationChanged(
        "created",
        c.id,
        at,
        host.member.key,
        {"title": c.title, "room": room, "bitrate_kbps": c.bitrate_kbps, "host": c.host},
    )
    return c, p, event


def invite(
    c: Consultation, current: Participant | None, member: Member, by: Who, at: datetime
) -> tuple[Participant, ParticipantChanged]:
    """Invite ``member`` (new, or back after leaving or being removed). Host only."""
    require_open(c)
    require_host(c, by, "invite")
    if current is not None and current.state in (ParticipantState.INVITED, ParticipantState.JOINED):
        raise Conflict(
            f"{member.key} is already {current.state} in consultation {c.id}",
            code="consultation.already_invited",
            consultation_id=c.id,
            member=member.key,
            state=current.state.value,
        )
    if current is None:
        p = Participant(
            c.id, member, ParticipantRole.MEMBER, ParticipantState.INVITED, by.member.key, at
        )
    else:
        p = replace(
            current,
            state=ParticipantState.INVITED,
            invited_by=by.member.key,
            invited_at=at,
            via_role=None,
        )
    return p, ParticipantChanged(
        "invited", c.id, member, p.state, at, by.member.key, {"again": current is not None}
    )


def invite_roles(
    c: Consultation, invited: Iterable[str], roles: Iterable[str], by: Who, at: datetime
) -> tuple[frozenset[str], ConsultationChanged | None]:
    """The roles newly invited (those already invited are left as they are), and the event
    (None when nothing is new). Host only."""
    require_open(c)
    require_host(c, by, "invite")
    new = frozenset(roles) - frozenset(invited)
    if not new:
        return new, None
    return new, ConsultationChanged(
        "roles_invited", c.id, at, by.member.key, {"roles": sorted(new)}
    )


def admission(
    c: Consultation,
    participants: Mapping[str, Participant],
    invited_roles: Iterable[str],
    who: Who,
) -> Admission:
    """Whether ``who`` may join now, and on what terms; raises the refusal (with its code)."""
    require_open(c)
    current = participants.get(who.member.key)
    if current is not None and current.state is ParticipantState.REMOVED:
        raise Forbidden(
            f"{who.member.key} was removed from consultation {c.id}; only a new invitation "
            "lets them back",
            code="consultation.removed",
            consultation_id=c.id,
            member=who.member.key,
        )
    via: str | None = None
    if current is None:
        roles = sorted(who.roles & frozenset(invited_roles))
        if who.member.kind is not MemberKind.USER or not roles:
            raise Forbidden(
                f"{who.member.key} is not invited to consultation {c.id}",
                code="consultation.not_invited",
                consultation_id=c.id,
                member=who.member.key,
            )
        via = roles[0]
    return Admission(
        consultation_id=c.id,
        incident_id=c.incident_id,
        room=c.room,
        member=who.member,
        role=current.role if current is not None else ParticipantRole.MEMBER,
        bitrate_kbps=sending_cap(c, current),
        audio_muted=current.audio_muted if current is not None else False,
        video_muted=current.video_muted if current is not None else False,
        known=current is not None,
        rejoin=current is not None and current.state is ParticipantState.JOINED,
        via_role=via if current is None else current.via_role,
    )


def join(
    c: Consultation, admitted: Admission, current: Participant | None, at: datetime
) -> tuple[Participant, ParticipantChanged]:
    """The participant in the room (``admitted`` is ``admission``'s answer for it)."""
    require_open(c)
    if current is None:
        current = Participant(
            c.id,
            admitted.member,
            ParticipantRole.MEMBER,
            ParticipantState.INVITED,
            f"role:{admitted.via_role}",
            at,
            via_role=admitted.via_role,
        )
    if current.state is ParticipantState.REMOVED:
        raise Forbidden(
            f"{current.key} was removed from consultation {c.id}; only a new invitation "
            "lets them back",
            code="consultation.removed",
            consultation_id=c.id,
            member=current.key,
        )
    again = current.state is not ParticipantState.INVITED
    p = replace(
        current,
        state=ParticipantState.JOINED,
        joined_at=at,
        left_at=None,
        left_reason="",
        joins=current.joins + 1,
    )
    return p, ParticipantChanged(
        "joined",
        c.id,
        p.member,
        p.state,
        at,
        p.key,
        {"again": again, "role": p.role.value, "via_role": p.via_role, "join": p.joins},
    )


def leave(
    c: Consultation, current: Participant, reason: str, at: datetime, *, join: int | None = None
) -> tuple[Participant, ParticipantChanged]:
    """The participant out of the room (hung up, connection lost, ...): it may join again.
    ``join``: the connection that ended (``Admission.join``); the end of one that a later
    join replaced is not a leaving."""
    if current.state is not ParticipantState.JOINED:
        raise Conflict(
            f"{current.key} is {current.state} in consultation {c.id}, not joined",
            code="consultation.not_joined",
            consultation_id=c.id,
            member=current.key,
            state=current.state.value,
        )
    if join is not None and join != current.joins:
        raise Conflict(
            f"{current.key} connected again to consultation {c.id}; its connection {join} "
            "was replaced",
            code="consultation.connected_elsewhere",
            consultation_id=c.id,
            member=current.key,
            join=join,
        )
    why = reason.strip()[:REASON_MAX]
    p = replace(current, state=ParticipantState.LEFT, left_at=at, left_reason=why)
    return p, ParticipantChanged("left", c.id, p.member, p.state, at, p.key, {"reason": why})


def remove(
    c: Consultation, current: Participant, by: Who, at: datetime
) -> tuple[Participant, ParticipantChanged]:
    """The host puts a participant out; only a new invitation lets them back."""
    require_open(c)
    require_host(c, by, "remove")
    if current.key == c.host:
        raise Conflict(
            f"the host of consultation {c.id} cannot be removed; end the consultation instead",
            code="consultation.host_not_removable",
            consultation_id=c.id,
        )
    if current.state is ParticipantState.REMOVED:
        raise Conflict(
            f"{current.key} was removed from consultation {c.id} already",
            code="consultation.removed_already",
            consultation_id=c.id,
            member=current.key,
        )
    was = current.state
    p = replace(current, state=ParticipantState.REMOVED, left_at=at, left_reason="removed")
    return p, ParticipantChanged(
        "removed", c.id, p.member, p.state, at, by.member.key, {"was": was.value}
    )


def _require_not_removed(c: Consultation, current: Participant) -> None:
    """A removed participant's media is nobody's to change until they are invited again."""
    if current.state is ParticipantState.REMOVED:
        raise Conflict(
            f"{current.key} was removed from consultation {c.id}",
            code="consultation.participant_removed",
            consultation_id=c.id,
            member=current.key,
        )


def mute(
    c: Consultation, current: Participant, media: Media, muted: bool, by: Who, at: datetime
) -> tuple[Participant, ParticipantChanged]:
    """The host mutes (or lets speak again) a participant's audio or video."""
    require_open(c)
    require_host(c, by, "mute")
    _require_not_removed(c, current)
    if media is Media.AUDIO:
        p = replace(current, audio_muted=muted)
    else:
        p = replace(current, video_muted=muted)
    return p, ParticipantChanged(
        "muted",
        c.id,
        p.member,
        p.state,
        at,
        by.member.key,
        {"media": media.value, "muted": muted},
    )


def end(
    c: Consultation, participants: Iterable[Participant], by: Who, at: datetime
) -> tuple[Consultation, list[Participant], ConsultationChanged]:
    """The consultation ended by its host or a supervisor; everyone still in has left."""
    require_open(c)
    require_host(c, by, "end", supervisor_may=True)
    ended = replace(c, state=ConsultationState.ENDED, ended_at=at, ended_by=by.member.key,
                    recording_since=None)
    out = [
        replace(p, state=ParticipantState.LEFT, left_at=at, left_reason="ended")
        for p in participants
        if p.state is ParticipantState.JOINED
    ]
    return (
        ended,
        out,
        ConsultationChanged("ended", c.id, at, by.member.key, {"left": [p.key for p in out]}),
    )


# ---------------------------------------------------------------------- recording and stills


def _require_incident(c: Consultation, what: str) -> int:
    """Recordings and stills are attached to the consultation's incident: it needs one."""
    if c.incident_id is None:
        raise Conflict(
            f"consultation {c.id} is about no incident: {what} would have nowhere to go",
            code="consultation.no_incident",
            consultation_id=c.id,
            action=what,
        )
    return c.incident_id


def start_recording(
    c: Consultation, by: Who, at: datetime
) -> tuple[Consultation, ConsultationChanged]:
    """The host (or a supervisor) starts recording everyone who sends."""
    require_open(c)
    require_host(c, by, "record", supervisor_may=True)
    _require_incident(c, "a recording")
    if c.recording_since is not None:
        raise Conflict(
            f"consultation {c.id} is being recorded already",
            code="consultation.recording_on",
            consultation_id=c.id,
            since=c.recording_since.isoformat(),
        )
    return replace(c, recording_since=at), ConsultationChanged(
        "recording_started", c.id, at, by.member.key, {}
    )


def stop_recording(
    c: Consultation, by: Who, at: datetime
) -> tuple[Consultation, ConsultationChanged]:
    """The host (or a supervisor) stops the recording; its files are attached afterwards."""
    require_open(c)
    require_host(c, by, "record", supervisor_may=True)
    if c.recording_since is None:
        raise Conflict(
            f"consultation {c.id} is not being recorded",
            code="consultation.recording_off",
            consultation_id=c.id,
        )
    since = c.recording_since
    return replace(c, recording_since=None), ConsultationChanged(
        "recording_stopped", c.id, at, by.member.key,
        {"since": since.isoformat(), "seconds": round((at - since).total_seconds(), 1)},
    )


def may_take_still(
    c: Consultation, participants: Mapping[str, Participant], by: Who, of: Member
) -> int:
    """A participant who is in (or a supervisor) takes a still of someone who is in; the
    incident it goes to."""
    require_open(c)
    incident_id = _require_incident(c, "a still")
    mine = participants.get(by.member.key)
    if not by.supervisor and (mine is None or mine.state is not ParticipantState.JOINED):
        raise Forbidden(
            f"only a participant who is in consultation {c.id} takes stills of it",
            code="consultation.not_in",
            consultation_id=c.id,
        )
    theirs = participants.get(of.key)
    if theirs is None or theirs.state is not ParticipantState.JOINED:
        raise Conflict(
            f"{of.key} is not in consultation {c.id}",
            code="consultation.participant_not_in",
            consultation_id=c.id,
            member=of.key,
        )
    return incident_id


# ---------------------------------------------------------------------- a participant's cap


def sending_cap(c: Consultation, p: Participant | None) -> int:
    """What a participant may send (kbit/s): their own cap, never above the consultation's."""
    if p is None or p.bitrate_kbps is None:
        return c.bitrate_kbps
    return min(p.bitrate_kbps, c.bitrate_kbps)


def cap(
    c: Consultation, current: Participant, kbps: int | None, by: Who, at: datetime
) -> tuple[Participant, ParticipantChanged]:
    """The host caps what one participant sends (a vehicle on a weak link); None lifts it."""
    require_open(c)
    require_host(c, by, "cap")
    if kbps is not None:
        check_bitrate(kbps)
    _require_not_removed(c, current)
    p = replace(current, bitrate_kbps=kbps)
    return p, ParticipantChanged(
        "capped", c.id, p.member, p.state, at, by.member.key,
        {"bitrate_kbps": sending_cap(c, p)},
    )
