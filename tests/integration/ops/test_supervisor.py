"""The supervisor with real children: a killed one comes back, one that keeps dying is given
up on, a stop stops them all; and a postmaster killed with -9, its backends still alive, starts
again under it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from ops.pgcluster import Cluster, free_port
from ops.restart_policy import RestartPolicy
from ops.supervisor import ChildSpec, Supervisor, spawn
from tests.support.waiting import waited


def _state(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def _child(path: Path, name: str) -> dict[str, Any]:
    return dict(_state(path).get("children", {}).get(name, {}))


def _sleeper(name: str, needs: tuple[str, ...] = ()) -> ChildSpec:
    return ChildSpec(
        name=name, start=lambda: spawn(["sleep", "300"]), ready=lambda _: True, needs=needs
    )


@contextmanager
def _supervising(supervisor: Supervisor) -> Iterator[list[int]]:
    status: list[int] = []
    thread = threading.Thread(target=lambda: status.append(supervisor.run(handle_signals=False)))
    thread.start()
    try:
        yield status
    finally:
        supervisor.stop()
        thread.join(60)
        assert not thread.is_alive()


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def test_a_killed_child_is_started_again_and_a_stop_stops_all(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    supervisor = Supervisor([_sleeper("first"), _sleeper("second", ("first",))], state)
    with _supervising(supervisor) as status:
        waited(lambda: _child(state, "second").get("state") == "running", 20)
        first = _child(state, "first")["pid"]
        second = _child(state, "second")["pid"]
        killed = time.monotonic()
        os.kill(first, signal.SIGKILL)
        waited(lambda: _child(state, "first").get("pid") not in (None, first)
               and _child(state, "first").get("state") == "running", 20)
        took = time.monotonic() - killed
        print(f"\nkilled child running again after {took:.2f} s")
        assert took < 2.0
        after = _child(state, "first")
        assert after["restarts"] == 1
        assert after["last_exit"]["signal"] == "SIGKILL"
        assert _child(state, "second")["pid"] == second  # the other one was left alone
        again = after["pid"]
    assert status == [0]
    assert {c["state"] for c in _state(state)["children"].values()} == {"stopped"}
    waited(lambda: _gone(again) and _gone(second), 20)


def test_a_child_that_keeps_dying_is_given_up_and_the_rest_stopped(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    policy = RestartPolicy(base_delay_s=0.01, max_delay_s=0.02, max_restarts=3, window_s=60)
    dying = ChildSpec(name="dying", start=lambda: spawn(["false"]), ready=lambda _: False)
    supervisor = Supervisor([_sleeper("steady"), dying], state, policy)
    with _supervising(supervisor) as status:
        waited(lambda: bool(status), 20)
    assert status == [1]
    children = _state(state)["children"]
    assert children["dying"]["state"] == "gave_up"
    assert children["dying"]["restarts"] == 3
    assert children["dying"]["last_exit"]["code"] == 1
    assert children["steady"]["state"] == "stopped"


def test_a_config_error_before_serving_is_not_restarted(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    wrong = ChildSpec(
        name="wrong",
        start=lambda: spawn(["sh", "-c", "exit 2"]),
        ready=lambda _: False,
        config_exits=frozenset({2}),
    )
    with _supervising(Supervisor([wrong], state)) as status:
        waited(lambda: bool(status), 20)
    assert status == [2]
    assert _child(state, "wrong")["restarts"] == 0


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(root=tmp_path / "pg", port=free_port())
    c.init()
    yield c
    c.destroy()


async def _select_one(c: Cluster) -> int:
    conn = await asyncpg.connect(c.url("postgres", driver="postgresql"), timeout=5)
    try:
        return int(await conn.fetchval("SELECT 1"))
    finally:
        await conn.close()


async def test_a_postmaster_killed_with_its_backends_alive_starts_again(
    cluster: Cluster, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    database = ChildSpec(
        name="database",
        start=cluster.spawn,
        ready=lambda proc: cluster.accepting(proc.pid),
        stop_signal=signal.SIGINT,
    )
    with _supervising(Supervisor([database], state)):
        waited(lambda: _child(state, "database").get("state") == "running", 60)
        # A session open across the crash: its backend outlives the postmaster for a moment
        # and holds the shared memory that a new postmaster refuses to share.
        conn = await asyncpg.connect(cluster.url("postgres", driver="postgresql"))
        first = _child(state, "database")["pid"]
        killed = time.monotonic()
        os.kill(first, signal.SIGKILL)
        waited(
            lambda: _child(state, "database").get("state") == "running"
            and _child(state, "database")["pid"] != first,
            30,
            lambda: f"{_state(state)}\n{cluster.log_file.read_text()[-3000:]}",
        )
        took = time.monotonic() - killed
        print(f"\npostmaster killed with -9 accepting again after {took:.2f} s")
        assert await _select_one(cluster) == 1
        assert _child(state, "database")["last_exit"]["signal"] == "SIGKILL"
        conn.terminate()
    assert not (cluster.data / "postmaster.pid").exists()
    assert subprocess.run(["pgrep", "-f", str(cluster.data)], check=False).returncode != 0
