"""A real coturn (Debian's ``turnserver``) on loopback for the tests, with the shared-secret
scheme that ``video.ice`` issues credentials for."""

from __future__ import annotations

import contextlib
import secrets
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ops.pgcluster import free_port
from tests.support.waiting import waited

REALM = "cad.test"


@dataclass(frozen=True)
class TurnServer:
    port: int
    secret: str
    log: Path

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"


def _answers_stun(port: int) -> bool:
    # A STUN binding request (RFC 5389); any answer means the server listens.
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + secrets.token_bytes(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        sock.sendto(request, ("127.0.0.1", port))
        try:
            return len(sock.recv(512)) >= 20
        except OSError:
            return False


@contextlib.contextmanager
def turn_server() -> Iterator[TurnServer]:
    port = free_port()
    secret = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="cad-turn-") as tmp:
        log = Path(tmp, "turn.log")
        process = subprocess.Popen(
            [
                "turnserver",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                f"--listening-port={port}",
                "--min-port=49160",
                "--max-port=49999",
                f"--realm={REALM}",
                "--use-auth-secret",
                f"--static-auth-secret={secret}",
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "--allow-loopback-peers",
                f"--log-file={log}",
                "--simple-log",
                f"--pidfile={tmp}/turn.pid",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            waited(lambda: _answers_stun(port), 10.0, lambda: f"coturn did not answer: {log}")
            yield TurnServer(port=port, secret=secret, log=log)
        finally:
            process.terminate()
            process.wait(timeout=10)
