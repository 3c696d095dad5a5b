"""The faults: each does its harm and returns how the app came back (``by itself``: nothing
but `cad serve` and its supervisor acted) once the cause is removed.

- ``kill_app``: kill -9 of the app worker;
- ``restart_database``: the postmaster's fast shutdown;
- ``kill_database``: kill -9 of the postmaster;
- ``freeze_database``: SIGSTOP of the postmaster and its children for a while, then SIGCONT;
- ``drop_websockets``: the link between clients and app cut and restored at once (every open
  socket and HTTP connection dropped);
- ``cut_ami``: the link between the app's telephony bridge and Asterisk cut and restored.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ops.pgcluster import Cluster
from ops.tcp_relay import LinkCut
from tests.faults.app_process import Supervised

BY_ITSELF = "by itself"


@dataclass(frozen=True)
class Target:
    """What the faults act on."""

    app: Supervised
    cluster: Cluster
    front: LinkCut  # between the clients and the app
    ami_link: LinkCut | None  # between the app and Asterisk's AMI
    freeze_s: float


Fault = Callable[[Target], Awaitable[str]]


def postmaster(cluster: Cluster) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


def children(pid: int) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == pid]


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


async def kill_app(target: Target) -> str:
    """kill -9 of the app worker; its supervisor starts another."""
    os.kill(target.app.pid("app"), signal.SIGKILL)
    return BY_ITSELF


async def restart_database(target: Target) -> str:
    """The postmaster's fast shutdown (SIGINT), as an operator's restart; its supervisor starts
    it again."""
    os.kill(postmaster(target.cluster), signal.SIGINT)
    return BY_ITSELF


async def kill_database(target: Target) -> str:
    """kill -9 of the postmaster; its backends end by themselves, the supervisor waits them out
    and starts it again."""
    os.kill(postmaster(target.cluster), signal.SIGKILL)
    return BY_ITSELF


async def freeze_database(target: Target) -> str:
    main = postmaster(target.cluster)
    os.kill(main, signal.SIGSTOP)
    frozen = [main, *children(main)]
    for pid in frozen[1:]:
        os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(target.freeze_s)  # the fault itself: the server frozen this long
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    return BY_ITSELF


async def drop_websockets(target: Target) -> str:
    await target.front.cut()
    await target.front.restore()
    return BY_ITSELF


async def cut_ami(target: Target) -> str:
    """The link to Asterisk's AMI cut (its session closed, new ones refused) and restored."""
    assert target.ami_link is not None
    await target.ami_link.cut()
    await target.ami_link.restore()
    return BY_ITSELF


FAULTS: dict[str, Fault] = {
    "kill -9 app": kill_app,
    "restart database": restart_database,
    "kill -9 database": kill_database,
    "freeze database": freeze_database,
    "drop websockets": drop_websockets,
    "cut AMI": cut_ami,
}
