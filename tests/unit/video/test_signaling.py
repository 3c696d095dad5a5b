"""The signaling parser takes each frame of docs/protocols/video.md and refuses every other one
with a code and the field at fault."""

from __future__ import annotations

import json
from typing import Any

import pytest

from video import signaling
from video.media_plane import Candidate
from video.signaling import (
    AnswerMsg,
    CandidateMsg,
    FrameError,
    LeaveMsg,
    PublishMsg,
    StatsMsg,
    SubscribeMsg,
    UnpublishMsg,
)

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


def raw(kind: str, **fields: Any) -> str:
    return json.dumps({"v": 1, "type": kind, "id": "f1", **fields})


def refused(frame: str | bytes) -> FrameError:
    with pytest.raises(FrameError) as caught:
        signaling.parse(frame)
    return caught.value


def test_each_client_frame_parses_to_its_message() -> None:
    assert signaling.parse(raw("publish", sdp=SDP, video=False)) == PublishMsg(
        id="f1", sdp=SDP, audio=True, video=False
    )
    assert signaling.parse(raw("unpublish")) == UnpublishMsg(id="f1")
    assert signaling.parse(raw("subscribe")) == SubscribeMsg(id="f1", feeds=None)
    assert signaling.parse(raw("subscribe", feeds=[3, 5, 3])) == SubscribeMsg(id="f1", feeds=(3, 5))
    assert signaling.parse(raw("subscribe", layer="low")) == SubscribeMsg(
        id="f1", feeds=None, layer=0
    )
    assert signaling.parse(raw("answer", sdp=SDP)) == AnswerMsg(id="f1", sdp=SDP)
    line = "candidate:1 1 UDP 2122252543 127.0.0.1 40000 typ host"
    assert signaling.parse(
        raw(
            "candidate",
            leg="publisher",
            candidate={"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0},
        )
    ) == CandidateMsg(id="f1", leg="publisher", candidate=Candidate(line, "0", 0))
    for end in (None, {"candidate": ""}):
        assert signaling.parse(raw("candidate", leg="subscriber", candidate=end)) == (
            CandidateMsg(id="f1", leg="subscriber", candidate=None)
        )
    assert signaling.parse(raw("stats", loss=0.02, rtt_ms=35)) == StatsMsg(
        id="f1", loss=0.02, rtt_ms=35.0, bitrate_kbps=None
    )
    assert signaling.parse(raw("leave")) == LeaveMsg(id="f1")


@pytest.mark.parametrize(
    ("frame", "code", "field"),
    [
        ("{not json", "video.frame_not_json", ""),
        ("[1, 2]", "video.frame_invalid", ""),
        (json.dumps({"v": 2, "type": "leave", "id": "x"}), "video.version_unsupported", "v"),
        (json.dumps({"v": 1, "type": "dance", "id": "x"}), "video.type_unknown", "type"),
        (json.dumps({"v": 1, "type": "leave"}), "video.field_missing", "id"),
        (raw("publish"), "video.field_missing", "sdp"),
        (raw("publish", sdp="hello"), "video.sdp_invalid", "sdp"),
        (raw("publish", sdp=SDP, audio="yes"), "video.frame_invalid", "audio"),
        (raw("answer", sdp="v=0" + "x" * signaling.MAX_SDP), "video.field_too_long", "sdp"),
        (raw("subscribe", feeds=[]), "video.frame_invalid", "feeds"),
        (raw("subscribe", layer="ultra"), "video.layer_unknown", "layer"),
        (raw("subscribe", layer=2), "video.layer_unknown", "layer"),
        (raw("subscribe", feeds=[1, "two"]), "video.frame_invalid", "feeds.1"),
        (raw("subscribe", feeds=[1, True]), "video.frame_invalid", "feeds.1"),
        (raw("subscribe", feeds=list(range(1, 40))), "video.field_too_long", "feeds"),
        (raw("candidate", leg="sideways", candidate=None), "video.frame_invalid", "leg"),
        (raw("candidate", leg="publisher"), "video.field_missing", "candidate"),
        (raw("candidate", leg="publisher", candidate=5), "video.frame_invalid", "candidate"),
        (
            raw("candidate", leg="publisher", candidate={"candidate": "c", "sdpMLineIndex": -1}),
            "video.frame_invalid",
            "candidate.sdpMLineIndex",
        ),
        (raw("stats", loss=1.5), "video.field_out_of_range", "loss"),
        (raw("stats", rtt_ms=float("nan")), "video.field_out_of_range", "rtt_ms"),
        ("x" * (signaling.MAX_FRAME_BYTES + 1), "video.frame_too_large", ""),
    ],
)
def test_a_bad_frame_is_refused_naming_its_field(frame: str, code: str, field: str) -> None:
    error = refused(frame)
    assert (error.code, error.field) == (code, field)
    assert error.message


def test_the_error_frame_carries_code_field_and_params() -> None:
    error = refused(raw("subscribe", feeds=[1, "two"]))
    sent = json.loads(signaling.error_frame(error, ident="f1"))
    assert sent == {
        "v": 1,
        "type": "error",
        "id": "f1",
        "code": "video.frame_invalid",
        "field": "feeds.1",
        "message": "feeds.1 must be a participant id",
        "params": {"wanted": "a participant id", "got": "str"},
    }


def test_an_error_answers_the_frame_by_its_id_when_it_has_one() -> None:
    assert refused('{"v": 1, "type": "dance", "id": "x1"}').ident == "x1"
    assert refused('{"v": 1, "type": "publish", "id": "p7", "sdp": "hello"}').ident == "p7"
    assert refused('{"v": 1, "type": "publish", "id": 7}').ident is None
    assert refused("not json").ident is None
    answer = json.loads(signaling.error_frame(refused('{"v": 2, "id": "a"}'), ident="a"))
    assert (answer["id"], answer["code"]) == ("a", "video.version_unsupported")
    assert answer["field"] == "v"
