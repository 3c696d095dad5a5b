"""Running the real `cad` command line in a process of its own, on a test database or a
throwaway embedded cluster.

Each run is a fresh process forked from one that imported the command line once
(``tests.support.cad_zygote``): the same code as ``python -m command``, without seconds of
start-up a run.
"""

from __future__ import annotations

import functools
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ops.pgcluster import Cluster, free_port
from tests.support.log_secrets import KNOWN

ROOT = Path(__file__).resolve().parents[2]


class Zygote:
    """The process the runs are forked from; one run at a time."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.cad_zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.sock = ours
        self.lock = threading.Lock()

    def _answer(self, key: str, timeout: float) -> int:
        self.sock.settimeout(timeout)
        message = self.sock.recv(4096)
        if not message:
            raise RuntimeError("the cad zygote ended")
        return int(json.loads(message)[key])

    def run(
        self, args: list[str], env: dict[str, str], cwd: Path | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        with self.lock:
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            stdin = os.open(os.devnull, os.O_RDONLY)
            request = {"args": args, "env": env, "cwd": None if cwd is None else str(cwd)}
            try:
                socket.send_fds(self.sock, [json.dumps(request).encode()], [stdin, out_w, err_w])
            finally:
                for fd in (stdin, out_w, err_w):
                    os.close(fd)
            pid = self._answer("pid", 30)
            deadline = time.monotonic() + timeout
            out, err = _read_both(out_r, err_r, deadline)
            if out is None or err is None:
                os.kill(pid, signal.SIGKILL)
                self._answer("code", 30)
                raise subprocess.TimeoutExpired(["cad", *args], timeout)
            code = self._answer("code", max(deadline - time.monotonic(), 1))
        return subprocess.CompletedProcess(["cad", *args], code, out, err)


def _read_both(out_fd: int, err_fd: int, deadline: float) -> tuple[str | None, str | None]:
    """Everything written to both pipes until both close, or ``(None, None)`` at the deadline."""
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        open_fds = set(chunks)
        try:
            while open_fds:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, None
                for key, _ in selector.select(left):
                    data = os.read(key.fd, 65536)
                    if data:
                        chunks[key.fd].append(data)
                    else:
                        selector.unregister(key.fd)
                        open_fds.discard(key.fd)
        finally:
            for fd in chunks:
                os.close(fd)
    out, err = (b"".join(chunks[fd]).decode(errors="replace") for fd in (out_fd, err_fd))
    return out, err


@functools.cache
def zygote() -> Zygote:
    """One per test run, started on first use and ended with the run's process."""
    return Zygote()


def cad(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return cad_in(None, *args, **env)


def cad_in(cwd: Path | None, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`cad` run in the working directory ``cwd`` (where a .env would be read); the password it
    is given and the token it prints are known secrets, its log (stderr) is searched for them
    (tests.support.log_secrets)."""
    KNOWN.add(env.get("CAD_NEW_PASSWORD"))
    done = zygote().run(list(args), {**os.environ, **env}, cwd, timeout=120)
    if args[:2] == ("device", "add") and done.returncode == 0:
        KNOWN.add(done.stdout.strip())
    KNOWN.output("cad " + " ".join(args[:2]), done.stderr)
    return done


@contextmanager
def embedded_cluster() -> Iterator[dict[str, str]]:
    """Settings for `cad` with its own embedded cluster on a free port (an empty
    CAD_DATABASE_URL overrides one from the environment or a .env file); the cluster is stopped
    and removed afterwards.

    The cluster lives in a directory of its own under the system's temporary folder, not under
    pytest's: pytest makes its base folder private (0700) at the start of every session, which
    would lock the server user out of a cluster that a concurrent session is running."""
    var_dir = Path(tempfile.mkdtemp(prefix="cad-var-"))
    port = free_port()
    try:
        yield {"CAD_VAR_DIR": str(var_dir), "CAD_EMBEDDED_PORT": str(port), "CAD_DATABASE_URL": ""}
    finally:
        Cluster(root=var_dir / "pg", port=port).destroy()
        shutil.rmtree(var_dir, ignore_errors=True)
