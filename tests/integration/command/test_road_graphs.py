"""The running app holds one set of road graphs (the Container's), read ahead at start-up
and kept while the region's import stays the same."""

from __future__ import annotations

import asyncio

from tests.support.live import LiveApp


async def _held(app: LiveApp) -> list[str]:
    # the read-ahead runs in the background; wait for it, within reason
    async with asyncio.timeout(60):
        while not app.container.roads.held():
            await asyncio.sleep(0.05)
    return app.container.roads.held()


async def test_the_app_reads_its_road_graphs_ahead(app: LiveApp) -> None:
    assert await _held(app) == ["liechtenstein"]
    async with app.container.engine.connect() as conn:
        graph = await app.container.roads.graph(conn, "liechtenstein")
        again = await app.container.roads.graph(conn, "liechtenstein")
    assert again is graph
