"""The health's supervisor part, from the supervisor's state file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from command.supervision import assess, check_for
from ops.supervisor import write_state

SUPERVISOR, DATABASE, APP = 100, 101, 102


def _state(database: str = "running", app: str = "running") -> dict[str, Any]:
    return {
        "supervisor": {"pid": SUPERVISOR, "since": "2026-01-01T00:00:00.000+00:00"},
        "children": {
            "database": {
                "state": database,
                "pid": None if database == "restarting" else DATABASE,
                "restarts": 1,
                "last_exit": {"code": -9, "signal": "SIGKILL", "at": "2026-01-01T00:01:00"},
                "since": "2026-01-01T00:01:00.000+00:00",
            },
            "app": {"state": app, "pid": APP, "restarts": 2, "last_exit": None,
                    "since": "2026-01-01T00:00:01.000+00:00"},
        },
    }


def _everyone_alive(_: int) -> bool:
    return True


def test_every_child_running_is_ok_with_the_restarts_so_far() -> None:
    part = assess(_state(), APP, _everyone_alive)
    assert (part.status, part.code) == ("ok", "supervisor.running")
    assert part.params == {"children": ["app", "database"], "restarts": 3}


def test_the_database_restarting_is_degraded_with_its_exit() -> None:
    part = assess(_state(database="restarting"), APP, _everyone_alive)
    assert (part.status, part.code) == ("degraded", "supervisor.child_restarting")
    assert part.params == {
        "child": "database",
        "state": "restarting",
        "restarts": 1,
        "since": "2026-01-01T00:01:00.000+00:00",
        "exit": "SIGKILL",
    }


def test_the_worker_answering_is_running_whatever_the_file_last_said() -> None:
    assert assess(_state(app="starting"), APP, _everyone_alive).status == "ok"
    assert assess(_state(app="starting"), APP + 1, _everyone_alive).status == "degraded"


def test_a_supervisor_that_is_gone_is_degraded() -> None:
    part = assess(_state(), APP, lambda pid: pid != SUPERVISOR)
    assert (part.status, part.code, part.params) == ("degraded", "supervisor.gone",
                                                      {"pid": SUPERVISOR})


async def test_the_check_reads_the_file_the_supervisor_writes(tmp_path: Path) -> None:
    path = tmp_path / "supervisor_state.json"
    state = _state(database="restarting")
    state["supervisor"]["pid"] = os.getpid()
    write_state(path, state)
    part = (await check_for(path)())
    assert part.code == "supervisor.child_restarting"
    path.write_text("{")
    assert (await check_for(path)()).code == "supervisor.state_unreadable"
    assert (await check_for(None)()).code == "supervisor.not_supervised"
