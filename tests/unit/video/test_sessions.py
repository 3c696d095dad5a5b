"""The consultation rules, one by one: who may join, rejoin and be refused, what only the host
may do, and the event each change says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from video import sessions as s
from video.errors import Conflict, Forbidden, InvalidInput, VideoError
from video.sessions import Member, MemberKind, ParticipantState, Who

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
HOST = Who(Member(MemberKind.USER, "lead1"), frozenset({"leader"}))
EXPERT = Who(Member(MemberKind.USER, "exp1"), frozenset({"dispatcher"}))
SUP = Who(Member(MemberKind.USER, "sup1"), frozenset({"supervisor"}))
VEHICLE = Who(Member(MemberKind.UNIT, "CMD1"), frozenset({"field_unit"}))


def _open(incident_id: int | None = 7) -> tuple[s.Consultation, dict[str, s.Participant]]:
    c, host, event = s.create(1, incident_id, " Flood at the dam ", HOST, 1000, 1500, T0)
    assert (event.kind, event.by, c.title) == ("created", "user:lead1", "Flood at the dam")
    return c, {host.key: host}


def _invited(who: Who) -> tuple[s.Consultation, dict[str, s.Participant]]:
    c, ps = _open()
    p, event = s.invite(c, None, who.member, HOST, T0)
    assert (event.kind, event.state, p.state) == ("invited", ParticipantState.INVITED, p.state)
    ps[p.key] = p
    return c, ps


def _code(exc: pytest.ExceptionInfo[VideoError]) -> str:
    return exc.value.code


def test_the_creator_hosts_an_open_consultation() -> None:
    c, ps = _open()
    assert (c.open, c.host, c.room, c.bitrate_kbps) == (True, "user:lead1", 1000, 1500)
    [host] = ps.values()
    assert (host.role, host.state) == (s.ParticipantRole.HOST, ParticipantState.INVITED)
    admitted = s.admission(c, ps, (), HOST)
    assert (admitted.role, admitted.room, admitted.rejoin) == (s.ParticipantRole.HOST, 1000, False)


def test_a_unit_cannot_host() -> None:
    with pytest.raises(Forbidden) as e:
        s.create(1, None, "x", VEHICLE, 1000, 1500, T0)
    assert _code(e) == "consultation.host_not_person"


@pytest.mark.parametrize(
    ("title", "kbps", "code"),
    [
        ("", 1500, "consultation.title_invalid"),
        ("x" * 201, 1500, "consultation.title_invalid"),
        ("ok", 10, "consultation.bitrate_range"),
        ("ok", 50_000, "consultation.bitrate_range"),
    ],
)
def test_bad_titles_and_bitrates_are_refused(title: str, kbps: int, code: str) -> None:
    with pytest.raises(InvalidInput) as e:
        s.create(1, None, title, HOST, 1000, kbps, T0)
    assert _code(e) == code


def test_an_uninvited_user_is_refused() -> None:
    c, ps = _open()
    with pytest.raises(Forbidden) as e:
        s.admission(c, ps, (), EXPERT)
    assert _code(e) == "consultation.not_invited"
    assert e.value.params == {"consultation_id": 1, "member": "user:exp1"}


def test_a_user_holding_an_invited_role_may_join_and_becomes_a_participant() -> None:
    c, ps = _open()
    roles, event = s.invite_roles(c, (), ["dispatcher"], HOST, T0)
    assert roles == {"dispatcher"}
    assert event is not None
    assert event.detail == {"roles": ["dispatcher"]}
    admitted = s.admission(c, ps, roles, EXPERT)
    assert (admitted.known, admitted.via_role) == (False, "dispatcher")
    p, joined = s.join(c, admitted, None, T0)
    assert (p.state, p.via_role, p.invited_by, joined.kind) == (
        ParticipantState.JOINED,
        "dispatcher",
        "role:dispatcher",
        "joined",
    )
    # Inviting the same role again is nothing new.
    assert s.invite_roles(c, roles, ["dispatcher"], HOST, T0) == (frozenset(), None)


def test_a_role_invitation_admits_no_unit() -> None:
    c, ps = _open()
    with pytest.raises(Forbidden) as e:
        s.admission(c, ps, {"field_unit"}, VEHICLE)
    assert _code(e) == "consultation.not_invited"


def test_an_invited_unit_joins_and_rejoins_after_a_network_change_without_a_new_invitation() -> (
    None
):
    c, ps = _invited(VEHICLE)
    p, event = s.join(c, s.admission(c, ps, (), VEHICLE), ps["unit:CMD1"], T0)
    assert (p.state, p.joins, event.detail["again"]) == (ParticipantState.JOINED, 1, False)
    ps[p.key] = p
    # Its old connection is not noticed gone yet: it is let in again, as the same participant.
    again = s.admission(c, ps, (), VEHICLE)
    assert again.rejoin
    p, event = s.join(c, again, p, T0 + timedelta(seconds=5))
    assert (p.joins, event.detail["again"], event.detail["join"]) == (2, True, 2)
    # The old connection's end, noticed now, is not a leaving: the second join replaced it.
    with pytest.raises(Conflict) as e:
        s.leave(c, p, "lost", T0 + timedelta(seconds=6), join=1)
    assert _code(e) == "consultation.connected_elsewhere"
    # After leaving it may come back too.
    p, left = s.leave(c, p, "network lost", T0 + timedelta(seconds=9), join=2)
    assert (p.state, left.detail["reason"]) == (ParticipantState.LEFT, "network lost")
    ps[p.key] = p
    p, _ = s.join(c, s.admission(c, ps, (), VEHICLE), p, T0 + timedelta(seconds=12))
    assert (p.state, p.joins, p.left_reason) == (ParticipantState.JOINED, 3, "")


def test_a_removed_participant_cannot_rejoin_until_invited_again() -> None:
    c, ps = _invited(EXPERT)
    p, _ = s.join(c, s.admission(c, ps, (), EXPERT), ps["user:exp1"], T0)
    p, event = s.remove(c, p, HOST, T0)
    assert (p.state, event.kind, event.detail["was"]) == (
        ParticipantState.REMOVED,
        "removed",
        "joined",
    )
    ps[p.key] = p
    with pytest.raises(Forbidden) as e:
        s.admission(c, ps, (), EXPERT)
    assert _code(e) == "consultation.removed"
    # Even a role it holds does not let it back.
    with pytest.raises(Forbidden):
        s.admission(c, ps, {"dispatcher"}, EXPERT)
    p, again = s.invite(c, p, p.member, HOST, T0)
    assert (p.state, again.detail["again"]) == (ParticipantState.INVITED, True)
    ps[p.key] = p
    assert s.admission(c, ps, (), EXPERT).known


def test_only_the_host_invites_mutes_removes_and_ends() -> None:
    c, ps = _invited(EXPERT)
    member = ps["user:exp1"]
    for act in (
        lambda: s.invite(c, None, VEHICLE.member, EXPERT, T0),
        lambda: s.invite_roles(c, (), ["leader"], EXPERT, T0),
        lambda: s.mute(c, member, s.Media.AUDIO, True, EXPERT, T0),
        lambda: s.remove(c, member, EXPERT, T0),
        lambda: s.end(c, ps.values(), EXPERT, T0),
    ):
        with pytest.raises(Forbidden) as e:
            act()
        assert _code(e) == "consultation.host_only"


def test_a_supervisor_may_end_but_not_mute() -> None:
    c, ps = _invited(EXPERT)
    with pytest.raises(Forbidden):
        s.mute(c, ps["user:exp1"], s.Media.VIDEO, True, SUP, T0)
    ended, _, event = s.end(c, ps.values(), SUP, T0)
    assert (ended.state, ended.ended_by, event.by) == (
        s.ConsultationState.ENDED,
        "user:sup1",
        "user:sup1",
    )


def test_the_host_mutes_and_unmutes_audio_and_video() -> None:
    c, ps = _invited(EXPERT)
    p, event = s.mute(c, ps["user:exp1"], s.Media.AUDIO, True, HOST, T0)
    assert (p.audio_muted, p.video_muted, event.detail) == (
        True,
        False,
        {"media": "audio", "muted": True},
    )
    p, _ = s.mute(c, p, s.Media.VIDEO, True, HOST, T0)
    p, _ = s.mute(c, p, s.Media.AUDIO, False, HOST, T0)
    assert (p.audio_muted, p.video_muted) == (False, True)
    ps[p.key] = p
    admitted = s.admission(c, ps, (), EXPERT)
    assert (admitted.audio_muted, admitted.video_muted) == (False, True)


def test_the_host_cannot_be_removed_and_a_removed_one_not_twice() -> None:
    c, ps = _invited(EXPERT)
    with pytest.raises(Conflict) as e:
        s.remove(c, ps["user:lead1"], HOST, T0)
    assert _code(e) == "consultation.host_not_removable"
    p, _ = s.remove(c, ps["user:exp1"], HOST, T0)
    with pytest.raises(Conflict) as e:
        s.remove(c, p, HOST, T0)
    assert _code(e) == "consultation.removed_already"
    with pytest.raises(Conflict) as e:
        s.mute(c, p, s.Media.AUDIO, True, HOST, T0)
    assert _code(e) == "consultation.participant_removed"


def test_inviting_someone_already_in_is_a_conflict() -> None:
    c, ps = _invited(EXPERT)
    with pytest.raises(Conflict) as e:
        s.invite(c, ps["user:exp1"], EXPERT.member, HOST, T0)
    assert (_code(e), e.value.params["state"]) == ("consultation.already_invited", "invited")


def test_leaving_needs_being_in() -> None:
    c, ps = _invited(EXPERT)
    with pytest.raises(Conflict) as e:
        s.leave(c, ps["user:exp1"], "bye", T0)
    assert _code(e) == "consultation.not_joined"


def test_an_ended_consultation_refuses_everything_and_everyone_in_has_left() -> None:
    c, ps = _invited(EXPERT)
    p, _ = s.join(c, s.admission(c, ps, (), EXPERT), ps["user:exp1"], T0)
    ps[p.key] = p
    ended, out, event = s.end(c, ps.values(), HOST, T0)
    assert [(q.key, q.state, q.left_reason) for q in out] == [
        ("user:exp1", ParticipantState.LEFT, "ended")
    ]
    assert event.detail == {"left": ["user:exp1"]}
    for act in (
        lambda: s.admission(ended, ps, (), EXPERT),
        lambda: s.invite(ended, None, VEHICLE.member, HOST, T0),
        lambda: s.end(ended, ps.values(), HOST, T0),
        lambda: s.mute(ended, p, s.Media.AUDIO, True, HOST, T0),
    ):
        with pytest.raises(Conflict) as e:
            act()
        assert _code(e) == "consultation.ended"


def test_media_names_are_checked() -> None:
    assert s.parse_media("video") is s.Media.VIDEO
    with pytest.raises(InvalidInput) as e:
        s.parse_media("screen")
    assert _code(e) == "consultation.media_unknown"


def test_the_host_or_a_supervisor_records_a_consultation_about_an_incident() -> None:
    c, _ = _open()
    with pytest.raises(Forbidden) as refused:
        s.start_recording(c, EXPERT, T0)
    assert _code(refused) == "consultation.host_only"
    with pytest.raises(Conflict) as off:
        s.stop_recording(c, HOST, T0)
    assert _code(off) == "consultation.recording_off"
    on, started = s.start_recording(c, SUP, T0)
    assert (on.recording_since, started.kind, started.by) == (T0, "recording_started", "user:sup1")
    with pytest.raises(Conflict) as again:
        s.start_recording(on, HOST, T0)
    assert _code(again) == "consultation.recording_on"
    off_again, stopped = s.stop_recording(on, HOST, T0 + timedelta(seconds=42))
    assert off_again.recording_since is None
    assert stopped.detail == {"since": T0.isoformat(), "seconds": 42.0}
    alone, _ = _open(incident_id=None)
    with pytest.raises(Conflict) as nowhere:
        s.start_recording(alone, HOST, T0)
    assert _code(nowhere) == "consultation.no_incident"
    # Ending stops it.
    ended, _, _ = s.end(on, [], HOST, T0)
    assert ended.recording_since is None


def test_a_still_is_taken_by_someone_in_of_someone_in() -> None:
    c, ps = _invited(VEHICLE)
    host = ps[HOST.member.key]
    ps[host.key] = s.join(c, s.admission(c, ps, (), HOST), host, T0)[0]
    with pytest.raises(Conflict) as absent:
        s.may_take_still(c, ps, HOST, VEHICLE.member)
    assert _code(absent) == "consultation.participant_not_in"
    vehicle = ps[VEHICLE.member.key]
    ps[vehicle.key] = s.join(c, s.admission(c, ps, (), VEHICLE), vehicle, T0)[0]
    assert s.may_take_still(c, ps, HOST, VEHICLE.member) == 7
    assert s.may_take_still(c, ps, SUP, VEHICLE.member) == 7  # a supervisor need not be in
    with pytest.raises(Forbidden) as outside:
        s.may_take_still(c, ps, EXPERT, VEHICLE.member)
    assert _code(outside) == "consultation.not_in"


def test_the_host_caps_one_participant_never_above_the_consultation() -> None:
    c, ps = _invited(VEHICLE)
    vehicle = ps[VEHICLE.member.key]
    with pytest.raises(Forbidden) as refused:
        s.cap(c, vehicle, 300, EXPERT, T0)
    assert _code(refused) == "consultation.host_only"
    with pytest.raises(InvalidInput) as low:
        s.cap(c, vehicle, 10, HOST, T0)
    assert _code(low) == "consultation.bitrate_range"
    capped, event = s.cap(c, vehicle, 300, HOST, T0)
    assert (capped.bitrate_kbps, event.kind, event.detail) == (300, "capped", {"bitrate_kbps": 300})
    assert s.admission(c, {**ps, capped.key: capped}, (), VEHICLE).bitrate_kbps == 300
    # Above the consultation's cap: the consultation's applies.
    high, event = s.cap(c, vehicle, 5000, HOST, T0)
    assert (s.sending_cap(c, high), event.detail) == (1500, {"bitrate_kbps": 1500})
    lifted, event = s.cap(c, capped, None, HOST, T0)
    assert (lifted.bitrate_kbps, event.detail) == (None, {"bitrate_kbps": 1500})
