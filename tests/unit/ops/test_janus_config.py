"""The private Janus's generated configuration: what it loads, where it listens, its secret."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from ops.janus import IceServers, JanusServer


def _fake_libs(root: Path) -> Path:
    for folder, names in {
        "plugins": ["libjanus_videoroom.so", "libjanus_sip.so", "libjanus_streaming.so"],
        "transports": ["libjanus_websockets.so", "libjanus_http.so", "libjanus_pfunix.so"],
        "events": ["libjanus_sampleevh.so"],
        "loggers": ["libjanus_jsonlog.so"],
    }.items():
        (root / folder).mkdir(parents=True)
        for name in names:
            (root / folder / name).write_bytes(b"")
    return root


def _value(text: str, key: str) -> str:
    found = re.search(rf"^\s*{key} = (.*)$", text, re.MULTILINE)
    assert found, f"{key} missing"
    return found.group(1).strip()


def test_only_the_videoroom_and_the_websockets_are_loaded(tmp_path: Path) -> None:
    server = JanusServer(
        root=tmp_path / "janus", port=18188, lib_dir=_fake_libs(tmp_path / "lib"),
        media_addresses=["10.1.2.3", "eth1"], rtp_ports=(30000, 30099),
    )
    files = server.render()
    core = files["janus.jcfg"]
    plugins = _value(core.split("plugins: {")[1], "disable")
    transports = _value(core.split("transports: {")[1], "disable")
    assert plugins == '"libjanus_sip.so,libjanus_streaming.so"'
    assert transports == '"libjanus_http.so,libjanus_pfunix.so"'
    assert _value(core.split("events: {")[1], "disable") == '"libjanus_sampleevh.so"'
    assert _value(core.split("events: {")[1], "broadcast") == "false"
    assert _value(core.split("loggers: {")[1], "disable") == '"libjanus_jsonlog.so"'
    assert _value(core, "ice_enforce_list") == '"10.1.2.3,eth1"'
    assert _value(core, "rtp_port_range") == '"30000-30099"'
    assert int(_value(core, "session_timeout")) <= 30
    for absent in ("admin_secret", "stun_server", "turn_server"):
        assert absent not in core
    ws = files["janus.transport.websockets.jcfg"]
    assert _value(ws, "ws_port") == "18188"
    assert _value(ws, "ws_ip") == '"127.0.0.1"'
    assert _value(ws, "wss") == "false"
    assert _value(ws, "admin_ws") == "false"
    assert _value(ws, "admin_wss") == "false"
    assert "room-" not in files["janus.plugin.videoroom.jcfg"]


def test_the_api_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    server = JanusServer(root=tmp_path / "janus", lib_dir=_fake_libs(tmp_path / "lib"))
    secret = server.api_secret()
    assert len(secret) >= 24
    assert stat.S_IMODE(server.secret_file.stat().st_mode) == 0o600
    assert _value(server.render()["janus.jcfg"], "api_secret") == f'"{secret}"'
    again = JanusServer(root=tmp_path / "janus", lib_dir=tmp_path / "lib")
    assert again.api_secret() == secret
    other = JanusServer(root=tmp_path / "other", lib_dir=tmp_path / "lib")
    assert other.api_secret() != secret


def test_stun_and_turn_when_configured(tmp_path: Path) -> None:
    server = JanusServer(
        root=tmp_path / "janus", lib_dir=_fake_libs(tmp_path / "lib"),
        ice=IceServers(stun="stun.example.org:3478", turn="turn.example.org:3479",
                       turn_type="tcp", turn_user="u", turn_password='p"w'),
    )
    core = server.render()["janus.jcfg"]
    assert _value(core, "stun_server") == '"stun.example.org"'
    assert _value(core, "stun_port") == "3478"
    assert _value(core, "turn_server") == '"turn.example.org"'
    assert _value(core, "turn_port") == "3479"
    assert _value(core, "turn_type") == '"tcp"'
    assert _value(core, "turn_pwd") == r'"p\"w"'
