"""The embedded cluster recovers from a crashed server and from a stale lock file."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from ops.pgcluster import Cluster, free_port


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(root=tmp_path_factory.mktemp("embedded") / "pg", port=free_port())
    assert c.init() is True
    assert c.init() is False  # idempotent
    c.start()
    yield c
    c.destroy()


async def _answers(c: Cluster) -> bool:
    conn = await asyncpg.connect(c.url("postgres", driver="postgresql"))
    try:
        return bool(await conn.fetchval("SELECT 1"))
    finally:
        await conn.close()


def _postmaster_pid(c: Cluster) -> int:
    return int((c.data / "postmaster.pid").read_text().splitlines()[0])


async def test_running_cluster_answers_with_its_password(cluster: Cluster) -> None:
    assert cluster.running()
    assert await _answers(cluster)
    assert oct(cluster.password_file.stat().st_mode & 0o777) == "0o600"


async def test_start_after_a_crash(cluster: Cluster) -> None:
    os.kill(_postmaster_pid(cluster), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while cluster.running() and time.monotonic() < deadline:
        time.sleep(0.1)
    cluster.start()
    assert await _answers(cluster)


async def test_start_after_a_crash_with_a_session_open(cluster: Cluster) -> None:
    # The session's backend outlives its postmaster for a moment, holding the shared memory.
    session = await asyncpg.connect(cluster.url("postgres", driver="postgresql"))
    os.kill(_postmaster_pid(cluster), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while cluster.running() and time.monotonic() < deadline:
        time.sleep(0.01)
    cluster.start()
    assert await _answers(cluster)
    session.terminate()


async def test_start_with_a_stale_lock_file(cluster: Cluster) -> None:
    cluster.stop()
    pidfile: Path = cluster.data / "postmaster.pid"
    # A lock file left behind by a server that no longer exists (pid not running).
    pidfile.write_text(f"999999\n{cluster.data}\n0\n{cluster.port}\n")
    cluster.start()
    assert await _answers(cluster)
