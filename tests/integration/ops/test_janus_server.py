"""The private Janus starts from its own configuration, answers on its websocket, and stops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.support.janus import start_janus


async def test_starts_answers_with_the_secret_only_and_stops(tmp_path: Path) -> None:
    server = start_janus(tmp_path / "janus")
    try:
        assert server.running
        async with connect(server.url, subprotocols=["janus-protocol"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"janus": "info", "transaction": "i"}))
            info = json.loads(await ws.recv())
            assert info["janus"] == "server_info"
            assert list(info["plugins"]) == ["janus.plugin.videoroom"]
            assert list(info["transports"]) == ["janus.transport.websockets"]
            await ws.send(json.dumps({"janus": "create", "transaction": "a"}))
            refused = json.loads(await ws.recv())
            assert refused["janus"] == "error"
            assert refused["error"]["code"] == 403  # unauthorized: no apisecret
            await ws.send(json.dumps(
                {"janus": "create", "transaction": "b", "apisecret": server.api_secret()}))
            created = json.loads(await ws.recv())
            assert created["janus"] == "success"
            assert created["data"]["id"] > 0
        assert server.api_secret() not in server.log_file.read_text()
    finally:
        server.stop()
    assert not server.running
    with pytest.raises(ConnectionRefusedError):
        async with connect(server.url, open_timeout=2):
            pass
