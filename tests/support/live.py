"""The real app served by uvicorn on a free port, for HTTP and websocket tests."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
import uvicorn

from command import bootstrap
from command.app import create_app
from command.bootstrap import Container
from command.settings import Settings
from ops.pgcluster import free_port


@dataclass
class LiveApp:
    container: Container
    base_url: str
    ws_url: str
    http: httpx.AsyncClient

    def advance(self, delta: timedelta) -> None:
        """Move the app's clock forward (lockouts, idle sessions)."""
        self.container.clock.advance(delta)


@asynccontextmanager
async def serve(database_url: str, **overrides: object) -> AsyncIterator[LiveApp]:
    port = free_port()
    overrides.setdefault("audit_dir", tempfile.mkdtemp(prefix="cad-audit-"))
    settings = Settings(database_url=database_url, port=port, **overrides)  # type: ignore[arg-type]
    container = await bootstrap.start(settings)
    app = create_app(settings, container)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield LiveApp(container, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", http)
    finally:
        server.should_exit = True
        await task
        await bootstrap.stop(container)
