"""What a real Asterisk sends, as pure facts: a redirect by someone else, a recording's file,
listen-in modes, the feature codes, and call events kept in a spool file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from telephony.ami_protocol import AmiMessage
from telephony.bridge import attended_transfer_code
from telephony.calls import CallTransitioned, CallUpdated
from telephony.spool import Spool, decode, encode
from telephony.tracker import DomainEvent, Tracker, spy_mode

T0 = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
CALLER = "Local/112@incoming-00000000;2"
SEAT = "Local/1001@agents"


def msg(event: str, **fields: str) -> AmiMessage:
    return AmiMessage((("Event", event), *fields.items()))


def answered_call() -> tuple[Tracker, list[datetime]]:
    now = [T0]
    tracker = Tracker(queues=["emergency"], clock=lambda: now[0])
    base = {"Channel": CALLER, "Uniqueid": "1.1", "Linkedid": "1.0", "Queue": "emergency",
            "CallerIDNum": "+423 777 0025", "Context": "incoming", "Exten": "112"}
    tracker.apply(msg("QueueMemberAdded", Queue="emergency", Interface=SEAT, MemberName="S1"))
    tracker.apply(msg("QueueCallerJoin", **base))
    tracker.apply(msg("AgentCalled", **base, Interface=SEAT,
                      DestChannel="Local/1001@agents-00000001;1"))
    now[0] = T0 + timedelta(seconds=1)
    tracker.apply(msg("AgentConnect", **base, Interface=SEAT, HoldTime="1",
                      DestChannel="Local/1001@agents-00000001;1"))
    return tracker, now


def test_a_redirect_by_someone_else_is_a_transfer_and_frees_the_seat() -> None:
    tracker, now = answered_call()
    call = tracker.calls["1.1"]
    assert call.number == "+4237770025"
    now[0] = T0 + timedelta(seconds=4)
    out = tracker.apply(msg("Newexten", Channel=CALLER, Uniqueid="1.1", Linkedid="1.0",
                            Context="agents", Exten="1002", Application="NoOp"))
    assert [e.to_state for e in out if isinstance(e, CallTransitioned)] == ["transferred"]
    assert call.transfer_target == "1002@agents"
    assert call.talk_time == 3.0  # the first seat's part only
    assert tracker.seats[SEAT].call is None
    now[0] = T0 + timedelta(seconds=20)
    tracker.apply(msg("AgentComplete", Channel=CALLER, Uniqueid="1.1", Queue="emergency",
                      Interface=SEAT, TalkTime="19", HoldTime="1", Reason="caller"))
    assert call.talk_time == 3.0  # Asterisk's 19 s cover the next party's talk
    tracker.apply(msg("Hangup", Channel=CALLER, Uniqueid="1.1", Cause="16"))
    assert "1.1" not in tracker.calls


def test_the_dialplan_after_the_queue_is_not_a_transfer() -> None:
    tracker, _ = answered_call()
    out = tracker.apply(msg("Newexten", Channel=CALLER, Uniqueid="1.1", Context="incoming",
                            Exten="112", Application="Hangup"))
    assert out == []
    assert tracker.calls["1.1"].state == "answered"


def test_a_recording_gets_its_file_from_the_variable_before_it() -> None:
    tracker, _ = answered_call()
    tracker.apply(msg("VarSet", Channel=CALLER, Uniqueid="1.1", Variable="MIXMONITOR_FILENAME",
                      Value="/rec/a.wav"))
    out = tracker.apply(msg("MixMonitorStart", Channel=CALLER, Uniqueid="1.1"))
    assert [(e.change, e.detail["file"]) for e in out if isinstance(e, CallUpdated)] == [
        ("recording_started", "/rec/a.wav")]


def test_listen_in_modes_from_chanspy_options() -> None:
    assert (spy_mode("q"), spy_mode("qwE"), spy_mode("qBE")) == ("listen", "whisper", "barge")
    tracker, _ = answered_call()
    spyer = "Local/1009@external-00000002;1"
    tracker.apply(msg("OriginateResponse", Response="Success", Channel=spyer,
                      Application="ChanSpy", Data="Local/1001@agents-00000001,qwE"))
    out = tracker.apply(msg("ChanSpyStart", SpyerChannel=spyer,
                            SpyeeChannel="Local/1001@agents-00000001;2"))
    assert [(e.change, e.detail["mode"], e.detail["by"]) for e in out
            if isinstance(e, CallUpdated)] == [("spy_started", "whisper", "Local/1009@external")]


def test_the_attended_transfer_code_from_features_show() -> None:
    header = ["Builtin Feature           Default Current",
              "---------------           ------- -------"]
    assert attended_transfer_code(
        [*header, "Attended Transfer                 *2     "]) == "*2"
    assert attended_transfer_code([*header, "Attended Transfer                        "]) is None


def test_spooled_events_come_back_as_they_were(tmp_path: Path) -> None:
    tracker, _ = answered_call()
    call = tracker.calls["1.1"]
    call.location = (47.1, 9.5, 25.0)
    events: list[DomainEvent] = [CallTransitioned(call.view(), "offered", "answered", T0,
                                                  {"seat": SEAT, "hold_time": 1.0})]
    events.append(call.note(T0, "location", lat=47.1, lon=9.5))
    events.append(tracker.seats[SEAT].release("1.1", T0)[0])
    assert [decode(encode(e)) for e in events] == events
    spool = Spool(tmp_path / "spool.jsonl")
    spool.append(events)
    again = Spool(tmp_path / "spool.jsonl")  # a process that starts after a crash
    assert again.count == 3
    read, offset = again.peek(10)
    assert read == events
    again.consumed(len(read), offset)
    assert not (tmp_path / "spool.jsonl").exists()
