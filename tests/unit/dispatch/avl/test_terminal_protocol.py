"""The unit terminal protocol: the examples of docs/protocols/unit.md fit their schemas, the
server's parser takes every example and refuses what a schema refuses, naming the field."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from dispatch.avl import terminal
from dispatch.avl.fixes import Datum
from dispatch.avl.terminal import FrameError, PositionsMsg, StatusMsg
from tests.support import protocol


def test_every_schema_is_a_valid_schema_and_every_type_has_one() -> None:
    for name in protocol.names():
        Draft202012Validator.check_schema(protocol.schema(name))
    sent = {n.split(".", 1)[1] for n in protocol.names() if n.startswith("terminal.")}
    assert sent == set(terminal.CLIENT_TYPES)


def test_every_example_fits_its_schema_and_every_schema_has_one() -> None:
    examples = protocol.examples()
    for name, frame in examples:
        assert protocol.problems(name, frame) == [], name
    assert {name for name, _ in examples} == set(protocol.names())


@pytest.mark.parametrize(
    "frame", [f for n, f in protocol.examples() if n.startswith("terminal.")], ids=str
)
def test_the_server_parses_every_terminal_example(frame: dict[str, Any]) -> None:
    msg = terminal.parse(json.dumps(frame))
    assert msg.key == frame["key"]


def test_a_position_in_gcj02_and_epoch_ms_is_read_as_such() -> None:
    [(_, frame)] = [
        (n, f) for n, f in protocol.examples() if f.get("position", {}).get("crs") == "gcj02"
    ]
    msg = terminal.parse(json.dumps(frame))
    assert isinstance(msg, PositionsMsg)
    reported, seq = msg.reports[0]
    assert reported.datum is Datum.GCJ02
    assert seq is None
    assert reported.device_time.timestamp() == frame["position"]["time"] / 1000


def _without(frame: dict[str, Any], path: list[str | int]) -> dict[str, Any]:
    out = copy.deepcopy(frame)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]
    return out


def _required_paths(name: str, frame: dict[str, Any]) -> list[list[str | int]]:
    """Every required field of the example, as a path (into the first position of a batch)."""
    s = protocol.schema(name)
    paths: list[list[str | int]] = [[f] for f in s["required"]]
    position = s.get("$defs", {}).get("position")
    if position is not None:
        base: list[str | int] = ["position"] if "position" in frame else ["positions", 0]
        paths += [[*base, f] for f in position["required"]]
    return paths


@pytest.mark.parametrize(
    ("name", "frame"), [(n, f) for n, f in protocol.examples() if n.startswith("terminal.")]
)
def test_a_frame_without_a_required_field_is_refused_naming_it(
    name: str, frame: dict[str, Any]
) -> None:
    for path in _required_paths(name, frame):
        broken = _without(frame, path)
        assert protocol.problems(name, broken) != []
        with pytest.raises(FrameError) as caught:
            terminal.parse(json.dumps(broken))
        assert caught.value.field == ".".join(map(str, path)), path


@pytest.mark.parametrize(
    ("raw", "field", "code"),
    [
        ("not json", "", "terminal.frame_not_json"),
        ("[1, 2]", "", "terminal.field_invalid"),
        ('{"v": 2, "type": "status", "key": "k", "status": "en_route"}', "v",
         "terminal.version_unsupported"),
        ('{"v": 1, "type": "teleport", "key": "k"}', "type", "terminal.field_invalid"),
        ('{"v": 1, "type": "ack", "key": "k", "assignment_id": "7"}', "assignment_id",
         "terminal.field_invalid"),
        ('{"v": 1, "type": "position", "key": "", "position": {}}', "key",
         "terminal.field_invalid"),
        ('{"v": 1, "type": "position", "key": "k", "position": {"lat": "47", "lon": 9, '
         '"time": 0}}', "position.lat", "terminal.field_invalid"),
        ('{"v": 1, "type": "position", "key": "k", "position": {"lat": 47, "lon": 9, '
         '"time": "yesterday"}}', "position.time", "terminal.field_invalid"),
        ('{"v": 1, "type": "position", "key": "k", "position": {"lat": 47, "lon": 9, '
         '"time": 0, "crs": "osgb36"}}', "position.crs", "terminal.field_invalid"),
        ('{"v": 1, "type": "positions", "key": "k", "positions": []}', "positions",
         "terminal.field_invalid"),
        ('{"v": 1, "type": "positions", "key": "k", "positions": [{"lat": 47, "lon": 9, '
         '"time": 0}, {"lat": 47, "lon": 9, "time": 0, "seq": 1.5}]}', "positions.1.seq",
         "terminal.field_invalid"),
    ],
)
def test_bad_frames_name_the_field(raw: str, field: str, code: str) -> None:
    with pytest.raises(FrameError) as caught:
        terminal.parse(raw)
    assert (caught.value.field, caught.value.code) == (field, code)
    # What the parser refuses, the schemas refuse too (where the frame has a known type).
    try:
        frame = json.loads(raw)
    except ValueError:
        return
    if isinstance(frame, dict) and frame.get("type") in terminal.CLIENT_TYPES:
        assert protocol.problems(f"terminal.{frame['type']}", frame) != []


def test_a_status_keeps_its_reason() -> None:
    msg = terminal.parse('{"v": 1, "type": "status", "key": "k", "status": "on_scene", '
                         '"reason": "arrived"}')
    assert msg == StatusMsg("k", "on_scene", "arrived")
