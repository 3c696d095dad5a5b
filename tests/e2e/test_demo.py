"""`cad demo` from nothing: database, region, fleet, simulated calls; serves; stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ops.pgcluster import free_port


def test_demo_serves_health_and_stops(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CAD_VAR_DIR": str(tmp_path / "var"),
        "CAD_EMBEDDED_PORT": str(free_port()),
        "CAD_PORT": str(port),
    }
    env.pop("CAD_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "command", "demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert health is not None, "the demo never answered"
        assert health.status_code == 200
        parts = health.json()["parts"]
        assert parts["database"]["status"] == "ok"
        assert parts["telephony"]["status"] == "ok", parts["telephony"]
        login = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/login",
            json={"username": "dispatcher", "password": "demo-pass-112"},
            timeout=10,
        )
        assert login.status_code == 200
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        found = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/gis/geocode",
            params={"q": "Kunstmuseum Liechtenstein", "region": "liechtenstein"},
            headers=headers,
            timeout=10,
        )
        assert found.json()["candidates"][0]["kind"] == "landmark"
        board = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/units/board", headers=headers, timeout=10
        )
        assert board.json()["counts"]["available"] > 0
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert "dispatcher" in output
    assert proc.returncode == 0, output
    # The demo stopped the database it started.
    assert not (tmp_path / "var" / "pg" / "data" / "postmaster.pid").exists()
