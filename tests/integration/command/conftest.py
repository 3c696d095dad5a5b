"""Fixtures for the command tests: the whole app served on a database with the map."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.live import LiveApp, serve


@pytest.fixture
async def app(map_url: str) -> AsyncIterator[LiveApp]:
    async with serve(map_url) as live:
        yield live
