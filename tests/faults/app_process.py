"""`cad serve` under its supervisor, on an embedded cluster of the suite's own: the postmaster
and the app worker are the supervisor's children, restarted by it when they die; the faults
find their pids in its state file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from ops.pgcluster import Cluster, free_port
from tests.support.cli import cad
from tests.support.log_secrets import KNOWN

ROOT = Path(__file__).resolve().parents[2]


class Supervised:
    """One `cad serve` (supervisor, postmaster, app worker) on ``port``."""

    def __init__(self, **settings: str) -> None:
        self.var_dir = Path(tempfile.mkdtemp(prefix="cad-faults-"))
        self.port = free_port()
        db_port = free_port()
        self.cluster = Cluster(root=self.var_dir / "pg", port=db_port)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CAD_")},
            "CAD_VAR_DIR": str(self.var_dir),
            "CAD_EMBEDDED_PORT": str(db_port),
            "CAD_DATABASE_URL": "",
            "CAD_PORT": str(self.port),
            "CAD_AMI_ENABLED": "false",
            "CAD_AUDIT_DIR": str(self.var_dir / "audit"),
            "CAD_DB_CONNECT_TIMEOUT_S": "1",
            "CAD_DB_STATEMENT_TIMEOUT_MS": "2000",
            **settings,
        }
        self.log = self.var_dir / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def init(self) -> None:
        """The cluster created and migrated, then stopped: the supervisor starts it."""
        for command in (("db", "init"), ("db", "stop")):
            done = cad(*command, **self.env)
            assert done.returncode == 0, done.stderr

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "command", "serve"],
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def child(self, name: str) -> dict[str, object]:
        """The supervisor's record of its child ``name`` (pid, state, restarts, last exit)."""
        state = json.loads((self.var_dir / "supervisor_state.json").read_text())
        return dict(state["children"][name])

    def pid(self, name: str) -> int:
        pid = self.child(name)["pid"]
        assert isinstance(pid, int), self.child(name)
        return pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.cluster.destroy()
        if self.log.exists():
            KNOWN.output("cad serve", self.log.read_text(errors="replace"))  # searched

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
