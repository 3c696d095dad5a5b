"""A private Janus for the tests, started from the system's binary, and the running app that
drives it: the fixtures ``janus`` (one per test module) and ``app`` that the video tests use."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ops.janus import JanusServer, find_binary
from tests.support.live import LiveApp, serve

__all__ = ["JanusServer", "app", "janus", "start_janus"]


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


@pytest.fixture(scope="module")
def janus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JanusServer]:
    server = start_janus(tmp_path_factory.mktemp("janus"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def app(map_url: str, janus: JanusServer, tmp_path: Path) -> AsyncIterator[LiveApp]:
    """The app on the map database, its media plane the module's Janus."""
    async with serve(
        map_url,
        attachment_dir=tmp_path / "attachments",
        janus_url=janus.url,
        janus_api_secret=janus.api_secret(),
        janus_recordings_dir=janus.recordings_dir,
    ) as live:
        yield live
