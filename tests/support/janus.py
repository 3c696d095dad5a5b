"""A private Janus for the tests: one per session, started from the system's binary."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.janus import JanusServer, find_binary

__all__ = ["JanusServer", "janus_server", "start_janus"]


def start_janus(root: Path, **options: object) -> JanusServer:
    """A started Janus under ``root``; the test is skipped loudly when Janus is not installed."""
    try:
        find_binary()
    except RuntimeError as exc:
        pytest.skip(f"REAL JANUS TESTS SKIPPED: {exc}")
    # Test processes run side by side: each Janus gets RTP ports of its own.
    base = 21000 + (os.getpid() % 40) * 1000
    options.setdefault("rtp_ports", (base, base + 999))
    server = JanusServer(root=root, **options)  # type: ignore[arg-type]
    server.start()
    return server


@pytest.fixture(scope="session")
def janus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JanusServer]:
    server = start_janus(tmp_path_factory.mktemp("janus"))
    try:
        yield server
    finally:
        server.stop()
