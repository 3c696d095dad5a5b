"""`cad demo` from nothing: database, region, fleet, simulated calls and vehicles; serves; stops
cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from command.auth import totp
from ops.pgcluster import Cluster, free_port
from tests.support.consultations import sees
from tests.support.log_secrets import KNOWN
from video.peer import Peer


@pytest.fixture
def var_dir() -> Iterator[Path]:
    """The demo's var/, outside pytest's private base folder (see tests/support/cli.py)."""
    path = Path(tempfile.mkdtemp(prefix="cad-demo-var-"))
    yield path
    Cluster(root=path / "pg", port=0).destroy()
    shutil.rmtree(path, ignore_errors=True)


def test_demo_serves_health_and_stops(var_dir: Path) -> None:
    port = free_port()
    tracker_port = free_port()
    env = {
        **os.environ,
        "CAD_VAR_DIR": str(var_dir),
        "CAD_EMBEDDED_PORT": str(free_port()),
        "CAD_PORT": str(port),
        "CAD_DEMO_VEHICLES": "3",
        "CAD_DEMO_POSITION_S": "1",
        "CAD_OSMAND_PORT": str(tracker_port),
    }
    env.pop("CAD_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "command", "demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    printed: list[str] = []
    stdout = proc.stdout

    def read() -> None:
        for line in stdout:
            printed.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
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
        # The bridge is elected and connects to the demo switch just after the API answers.
        while parts["telephony"]["status"] != "ok" and time.monotonic() < deadline:
            time.sleep(0.2)
            parts = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).json()["parts"]
        assert parts["telephony"]["status"] == "ok", parts["telephony"]
        login = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/login",
            json={"username": "dispatcher", "password": "demo-pass-112"},
            timeout=10,
        )
        assert login.status_code == 200
        KNOWN.add(login.json()["token"])
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
        _the_vehicles_report_and_drive_to_an_assignment(f"http://127.0.0.1:{port}", headers)
        _a_phone_reports_on_the_tracker_port(
            f"http://127.0.0.1:{port}", f"http://127.0.0.1:{tracker_port}", "".join(printed)
        )
        _the_vehicle_agent_is_in_the_demo_consultation(port, "".join(printed))
        _it_survives_kill_9_of_the_app_and_the_postmaster(f"http://127.0.0.1:{port}", var_dir)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(10)
        stdout.close()
    output = "".join(printed)
    # Its log is searched for secrets, not the line that prints the demo password.
    logged = [line for line in output.splitlines() if "password for all" not in line]
    KNOWN.output("cad demo", "\n".join(logged))
    assert "dispatcher" in output
    # The guide: the one address of the screens, and an account for each, a unit's included.
    assert f"the consoles: http://127.0.0.1:{port}/app/" in output
    terminal = re.search(r"field terminal / \S+\s+(\S+)", output)
    assert terminal is not None, output[-3000:]
    assert re.search(rf"^  {re.escape(terminal[1])}\s+field_unit", output, re.MULTILINE)
    assert proc.returncode == 0, output
    # The demo stopped the database it started.
    assert not (var_dir / "pg" / "data" / "postmaster.pid").exists(), output[-3000:]


def _unit(base: str, headers: dict[str, str], unit_id: str) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(
        f"{base}/api/v1/units/{unit_id}", headers=headers, timeout=10
    ).json()
    return found


def _the_vehicles_report_and_drive_to_an_assignment(base: str, headers: dict[str, str]) -> None:
    """The simulated vehicles report from their stations over the terminal websocket; one that
    is assigned acknowledges, goes en route and moves along the road towards the incident."""
    deadline = time.monotonic() + 60
    reporting: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(reporting) < 3:
        units = httpx.get(f"{base}/api/v1/units/board", headers=headers, timeout=10).json()
        reporting = [u for u in units["units"] if u["position"] is not None]
        time.sleep(0.5)
    assert len(reporting) == 3, "the demo's vehicles do not report"
    vehicle = reporting[0]
    home = vehicle["station_position"]
    # standing at its station
    assert abs(vehicle["position"]["lon"] - home["lon"]) < 1e-5
    assert abs(vehicle["position"]["lat"] - home["lat"]) < 1e-5
    login = httpx.post(
        f"{base}/api/v1/auth/login",
        json={"username": "calltaker", "password": "demo-pass-112"},
        timeout=10,
    )
    calltaker = {"Authorization": f"Bearer {login.json()['token']}"}
    r = httpx.post(
        f"{base}/api/v1/incidents",
        headers=calltaker,
        json={"type": "fire.structure", "lon": home["lon"] + 0.01, "lat": home["lat"] + 0.004,
              "address": "near the station", "summary": "simulated"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    iid = r.json()["incident"]["id"]
    r = httpx.post(
        f"{base}/api/v1/incidents/{iid}/assignments",
        headers=headers,
        json={"unit_ids": [vehicle["id"]]},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 60
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        now = _unit(base, headers, vehicle["id"])
        if not seen or now["position"] != seen[-1]["position"]:
            seen.append(now)
        if len(seen) >= 4 and now["status"] == "en_route":
            break
        time.sleep(0.5)
    last = seen[-1]
    assert last["status"] == "en_route", last
    assert last["acknowledged_at"] is not None
    assert len({(s["position"]["lon"], s["position"]["lat"]) for s in seen}) >= 4


def _child(state: Path, name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(state.read_text())["children"][name]
    return found


def _all_ok(base: str) -> bool:
    try:
        answer = httpx.get(f"{base}/api/v1/health", timeout=5)
    except httpx.TransportError:
        return False
    parts = answer.json()["parts"]
    return answer.status_code == 200 and all(
        parts[p]["status"] == "ok" for p in ("database", "telephony", "supervisor")
    )


def _it_survives_kill_9_of_the_app_and_the_postmaster(base: str, var_dir: Path) -> None:
    """The demo runs under its supervisor: the app worker, then the postmaster, killed with -9
    come back by themselves, the call centre's link with them."""
    state = var_dir / "supervisor_state.json"
    for name in ("app", "database"):
        before = _child(state, name)
        os.kill(before["pid"], signal.SIGKILL)
        killed = time.monotonic()
        while time.monotonic() - killed < 60 and not (
            _child(state, name)["pid"] not in (None, before["pid"]) and _all_ok(base)
        ):
            time.sleep(0.1)
        print(f"demo: {name} killed with -9, all ok again after {time.monotonic() - killed:.2f} s")
        assert _all_ok(base)
        assert _child(state, name)["restarts"] == before["restarts"] + 1


def _signed_in(base: str, who: str, printed: str) -> dict[str, str]:
    """A demo account that signs in with a code from the TOTP secret the demo printed."""
    secret = re.search(rf"^  {who} .* secret (\S+)$", printed, re.MULTILINE)
    assert secret, printed
    login = httpx.post(
        f"{base}/api/v1/auth/login",
        json={
            "username": who,
            "password": "demo-pass-112",
            "totp": totp.code_at(secret[1], datetime.now(UTC)),
        },
        timeout=10,
    )
    assert login.status_code == 200, login.text
    KNOWN.add(login.json()["token"])
    return {"Authorization": f"Bearer {login.json()['token']}"}


def _the_vehicle_agent_is_in_the_demo_consultation(port: int, printed: str) -> None:
    """The leader finds the demo's consultation with a vehicle in it, joins it, and decodes
    the vehicle's test pattern (sent through the demo's private Janus)."""
    base = f"http://127.0.0.1:{port}"
    leader = _signed_in(base, "leader", printed)
    deadline = time.monotonic() + 60
    vehicle: dict[str, Any] | None = None
    while time.monotonic() < deadline and vehicle is None:
        found = httpx.get(f"{base}/api/v1/consultations", headers=leader, timeout=10).json()
        for c in found["consultations"]:
            one = httpx.get(f"{base}/api/v1/consultations/{c['id']}", headers=leader,
                            timeout=10).json()
            vehicle = next((p for p in one["participants"] if p["member"].startswith("unit:")
                            and p["state"] == "joined"), None)
            if vehicle is not None:
                cid = int(c["id"])
        time.sleep(0.5)
    assert vehicle is not None, "no vehicle is in a demo consultation"

    async def watch() -> float:
        started = time.monotonic()
        peer = await Peer.join(f"ws://127.0.0.1:{port}", leader["Authorization"][7:], cid)
        try:
            await peer.subscribe("all")
            await sees(peer, {vehicle["member"]: 1}, within=60)
            return time.monotonic() - started
        finally:
            await peer.leave()

    took = asyncio.run(watch())
    print(f"demo: the leader sees {vehicle['member']}'s video {took:.2f} s after joining")


def _a_phone_reports_on_the_tracker_port(base: str, trackers: str, printed: str) -> None:
    admin = _signed_in(base, "admin", printed)
    unknown = httpx.get(trackers, params={"id": "4711", "lat": "47.1", "lon": "9.5"}, timeout=10)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "osmand.device_unknown")
    r = httpx.put(
        f"{base}/api/v1/devices/bindings/4711", headers=admin, json={"unit_id": "FS1-E1"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    r = httpx.get(
        trackers,
        params={"id": "4711", "lat": "47.07", "lon": "9.50", "timestamp": str(int(time.time()))},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.json()["unit_id"] == "FS1-E1"
