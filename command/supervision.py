"""The health's ``supervisor`` part: what ``ops.supervisor``'s state file says of the children.

A child that is not running (the database restarting after a crash, a worker starting again)
makes the part degraded with a reason code and its parameters (docs/errors.md, "Health:
supervision"); so does a supervisor that is gone, since nothing would restart a crashed part.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from command.health import PartHealth

SupervisionReason = Literal[
    "supervisor.running",
    "supervisor.not_supervised",
    "supervisor.child_restarting",
    "supervisor.gone",
    "supervisor.state_unreadable",
]


def _part(status: str, code: SupervisionReason, detail: str, **params: Any) -> PartHealth:
    return PartHealth(status, detail, code=code, params=params)


def assess(state: Mapping[str, Any], me: int, alive: Callable[[int], bool]) -> PartHealth:
    """The part from a state file's content; ``me`` is this worker's pid (it serves, whatever
    the supervisor last saw), ``alive`` says whether a pid runs."""
    supervisor_pid = int(state["supervisor"]["pid"])
    if not alive(supervisor_pid):
        return _part(
            "degraded",
            "supervisor.gone",
            f"the supervisor (pid {supervisor_pid}) is gone: nothing restarts a crashed part",
            pid=supervisor_pid,
        )
    children: Mapping[str, Mapping[str, Any]] = state["children"]
    restarts = sum(int(c["restarts"]) for c in children.values())
    for name, child in children.items():
        if child["state"] == "running" or child.get("pid") == me:
            continue
        last = child.get("last_exit") or {}
        exit_ = last.get("signal") or last.get("code")
        return _part(
            "degraded",
            "supervisor.child_restarting",
            f"{name} is {child['state']} since {child['since']} (restarts: {child['restarts']},"
            f" last exit: {exit_})",
            child=name,
            state=child["state"],
            restarts=int(child["restarts"]),
            since=child["since"],
            exit=exit_,
        )
    running = sorted(children)
    return _part(
        "ok",
        "supervisor.running",
        f"{', '.join(running)} running; {restarts} restart(s) so far",
        children=running,
        restarts=restarts,
    )


def alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (one of another user's does too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_for(state_file: Path | None) -> Callable[[], Awaitable[PartHealth]]:
    """The health check of the supervisor part, reading ``state_file`` on each call."""

    async def check() -> PartHealth:
        if state_file is None:
            return _part(
                "ok",
                "supervisor.not_supervised",
                "not supervised by cad: a service manager (systemd) restarts the process",
            )
        try:
            state = json.loads(await asyncio.to_thread(state_file.read_text))
            return assess(state, os.getpid(), alive)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return _part(
                "degraded",
                "supervisor.state_unreadable",
                f"the supervisor's state file {state_file} cannot be read: {exc}",
                file=str(state_file),
                reason=str(exc),
            )

    return check
