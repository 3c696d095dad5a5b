"""The AMI wire format: real transcript bytes, chunking, garbage, and refused injections."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.ami_protocol import AmiMessage, Parser, action, caller_id, encode, number, parse_all

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "ami"


def test_parses_the_real_busy_stream_in_any_chunking() -> None:
    data = (FIXTURES / "busy.ami").read_bytes()
    whole = list(parse_all(data))
    parser = Parser()
    chunked: list[AmiMessage] = []
    for i in range(0, len(data), 7):
        chunked.extend(parser.feed(data[i : i + 7]))
    chunked.extend(parser.feed(b"\r\n"))
    assert parser.banner == "Asterisk Call Manager/13.0.0"
    assert [m.pairs for m in chunked] == [m.pairs for m in whole]
    assert parser.skipped_lines == 0
    abandon = next(m for m in whole if m.event == "QueueCallerAbandon")
    assert abandon["CallerIDNum"] == "+4237772001"
    assert abandon["HoldTime"] == "3"
    late = [m for m in whole if m.event == "AgentComplete"]
    assert "Uniqueid" not in late[0]  # after the hangups, without channel fields
    assert late[1]["Uniqueid"] == "1795302032.11"


def test_garbled_lines_are_skipped_and_counted() -> None:
    parser = Parser(expect_banner=False)
    got = parser.feed(
        b"no colon here\r\nEvent: Hangup\r\nbad key: x\r\nUniqueid: 1.2\r\n\r\n"
        b"\r\n\r\nEvent: Newstate\nChannel: X\n\n"
    )
    assert [m.event for m in got] == ["Hangup", "Newstate"]
    assert got[0].as_dict() == {"Event": "Hangup", "Uniqueid": "1.2"}
    assert parser.skipped_lines == 2


def test_over_long_line_is_dropped_without_losing_the_next_message() -> None:
    parser = Parser(expect_banner=False)
    got = parser.feed(b"Event: X\r\nJunk: " + b"a" * 70_000)
    got += parser.feed(b"a" * 10 + b"\r\n\r\nEvent: Hangup\r\nUniqueid: 9\r\n\r\n")
    assert parser.skipped_lines == 1
    assert got[-1].as_dict() == {"Event": "Hangup", "Uniqueid": "9"}


def test_encode_refuses_line_breaks_and_keeps_repeated_keys() -> None:
    with pytest.raises(ValueError, match="line break"):
        encode([("Exten", "2000\r\nAction: Hangup")])
    with pytest.raises(ValueError, match="key"):
        encode([("Bad: key", "x")])
    data = action("Originate", "a-1", ("Variable", "A=1"), ("Variable", "B=2"), Channel="X/1")
    msg = next(iter(parse_all(data, expect_banner=False)))
    assert msg.action == "Originate"
    assert msg.action_id == "a-1"
    assert msg.all("Variable") == ["A=1", "B=2"]


def test_field_helpers_tolerate_missing_and_odd_values() -> None:
    msg = AmiMessage.of(Event="AgentConnect", HoldTime="x", RingTime="", Position="2")
    assert number(msg, "HoldTime") is None
    assert number(msg, "RingTime", 0) == 0
    assert number(msg, "Position") == 2
    assert caller_id("<unknown>") is None
    assert caller_id(" +4237771001 ") == "+4237771001"
    assert msg.response is None
    assert AmiMessage.of(Response="Success").response == "Success"
