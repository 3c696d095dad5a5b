"""`cad serve` under its supervisor on an embedded cluster of its own: the app worker killed
with -9 serves again within seconds; the postmaster killed with -9 is started again while the
app answers 503, then 200 by itself, the health telling the degradation and the recovery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ops.pgcluster import free_port
from tests.support.cli import cad, embedded_cluster
from tests.support.log_secrets import KNOWN
from tests.support.waiting import waited


@dataclass(frozen=True)
class Served:
    process: subprocess.Popen[str]
    base: str
    state_file: Path

    def child(self, name: str) -> dict[str, Any]:
        return dict(json.loads(self.state_file.read_text())["children"][name])


@dataclass(frozen=True)
class Seen:
    at: float
    status: int | None  # None: nothing answered
    database: str | None
    supervisor: str | None


def _health(base: str) -> Seen:
    try:
        answer = httpx.get(f"{base}/api/v1/health", timeout=2)
    except httpx.TransportError:
        return Seen(time.monotonic(), None, None, None)
    parts = answer.json()["parts"]
    return Seen(
        time.monotonic(), answer.status_code, parts["database"]["status"],
        parts["supervisor"]["code"],
    )


def _settled(served: Served) -> bool:
    if not served.state_file.exists() or _health(served.base).status != 200:
        return False
    children = json.loads(served.state_file.read_text())["children"]
    return {c["state"] for c in children.values()} == {"running"}


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with embedded_cluster() as env:
        env = {**env, "CAD_AMI_ENABLED": "false", "CAD_PORT": str(free_port())}
        assert cad("db", "init", **env).returncode == 0
        # The supervisor starts the server itself, as its own child.
        assert cad("db", "stop", **env).returncode == 0
        process = subprocess.Popen(
            [sys.executable, "-m", "command", "serve"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        output: list[str] = []
        reader = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
        reader.start()
        base = f"http://127.0.0.1:{env['CAD_PORT']}"
        state_file = Path(env["CAD_VAR_DIR"]) / "supervisor_state.json"
        try:
            served = Served(process, base, state_file)
            # The health may answer 200 a moment before the supervisor's next look says
            # "running": wait for both, so that each test starts from a settled state.
            waited(lambda: _settled(served) or process.poll() is not None, 120)
            assert process.poll() is None, "".join(output)
            yield served
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=90)
            reader.join(10)
            process.stdout.close()
            KNOWN.output("cad serve", "".join(output))
        assert code == 0, "".join(output)[-3000:]
        children = json.loads(state_file.read_text())["children"]
        assert {c["state"] for c in children.values()} == {"stopped"}
        # The database the supervisor ran was shut down, not left running.
        assert not (Path(env["CAD_VAR_DIR"]) / "pg" / "data" / "postmaster.pid").exists()


def test_the_app_killed_with_minus_9_serves_again(served: Served) -> None:
    before = served.child("app")
    assert before["state"] == "running"
    os.kill(before["pid"], signal.SIGKILL)
    killed = time.monotonic()
    waited(lambda: served.child("app")["pid"] != before["pid"], 5)
    waited(lambda: _health(served.base).status == 200, 10)
    took = time.monotonic() - killed
    waited(lambda: _settled(served), 10)
    print(f"\napp worker killed with -9: serving again after {took:.2f} s")
    assert took < 10
    after = served.child("app")
    assert after["pid"] != before["pid"]
    assert after["restarts"] == before["restarts"] + 1
    assert after["last_exit"]["signal"] == "SIGKILL"
    seen = _health(served.base)
    assert seen.supervisor == "supervisor.running"


def test_the_postmaster_killed_with_minus_9_comes_back_and_the_app_with_it(
    served: Served,
) -> None:
    before = served.child("database")
    assert before["state"] == "running"
    seen: list[Seen] = []
    os.kill(before["pid"], signal.SIGKILL)
    killed = time.monotonic()

    def recovered() -> bool:
        seen.append(_health(served.base))
        last = seen[-1]
        return last.status == 200 and last.supervisor == "supervisor.running" and any(
            s.status == 503 for s in seen
        )

    waited(recovered, 30)
    first_503 = next(s.at for s in seen if s.status == 503)
    degraded = [s for s in seen if s.supervisor == "supervisor.child_restarting"]
    # The health may answer 200 a moment before the supervisor's next look says "running".
    back = next(s.at for s in seen if s.at > first_503 and s.status == 200)
    print(
        f"\npostmaster killed with -9: first 503 after {first_503 - killed:.2f} s, "
        f"{len(degraded)} health answer(s) naming the database restarting, "
        f"200 again after {back - killed:.2f} s, health all ok after {seen[-1].at - killed:.2f}"
        f" s ({len(seen)} health requests)"
    )
    # Meanwhile the app answered, honestly: 503 with the database degraded, never a 500.
    assert {s.status for s in seen} <= {200, 503}
    assert all(s.database == "degraded" for s in seen if s.status == 503)
    assert degraded, [(round(s.at - killed, 2), s.status, s.supervisor) for s in seen]
    assert seen[-1].database == "ok"
    assert seen[-1].supervisor == "supervisor.running"
    after = served.child("database")
    assert after["pid"] != before["pid"]
    assert after["restarts"] == before["restarts"] + 1
    assert after["last_exit"]["signal"] == "SIGKILL"
    # The app was not restarted for it: it came back by itself.
    assert served.child("app")["state"] == "running"
