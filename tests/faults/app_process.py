"""`cad serve` in a process of its own, which a fault may kill -9 and the harness restarts.

Until `cad serve` supervises its own worker, a restart after a kill is done here and the fault's
recovery is marked "restarted by harness".
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.log_secrets import KNOWN

ROOT = Path(__file__).resolve().parents[2]


class AppProcess:
    """One `cad serve` at a time on ``port``, against ``database_url``."""

    def __init__(self, database_url: str, port: int, **settings: str) -> None:
        self.port = port
        self.log_dir = Path(tempfile.mkdtemp(prefix="cad-faults-app-"))
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CAD_")},
            "CAD_DATABASE_URL": database_url,
            "CAD_PORT": str(port),
            "CAD_AMI_ENABLED": "false",
            "CAD_AUDIT_DIR": str(self.log_dir / "audit"),
            "CAD_DB_CONNECT_TIMEOUT_S": "1",
            "CAD_DB_STATEMENT_TIMEOUT_MS": "2000",
            **settings,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        log = (self.log_dir / f"serve-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "command", "serve"],
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, open requests and sockets cut."""
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        for log in sorted(self.log_dir.glob("serve-*.log")):
            KNOWN.output("cad serve", log.read_text(errors="replace"))  # searched for secrets

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        logs = sorted(self.log_dir.glob("serve-*.log"))
        if not logs:
            return ""
        return "\n".join(logs[-1].read_text(errors="replace").splitlines()[-lines:])
