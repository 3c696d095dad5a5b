"""What the video tests share: one real Janus for the module's tests, and a running app that
drives it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ops.janus import JanusServer
from tests.support.janus import start_janus
from tests.support.live import LiveApp, serve


@pytest.fixture(scope="module")
def janus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JanusServer]:
    server = start_janus(tmp_path_factory.mktemp("janus"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def app(map_url: str, janus: JanusServer, tmp_path: Path) -> AsyncIterator[LiveApp]:
    async with serve(
        map_url,
        attachment_dir=tmp_path / "attachments",
        janus_url=janus.url,
        janus_api_secret=janus.api_secret(),
    ) as live:
        yield live
