"""The real app served by uvicorn on a free port, for HTTP and websocket tests."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import uvicorn

from command import bootstrap
from command.app import create_app
from command.bootstrap import Container
from command.settings import Settings
from command.ws_protocol import uvicorn_options
from ops.pgcluster import free_port
from tests.support.log_secrets import KNOWN


@dataclass
class LiveApp:
    container: Container
    base_url: str
    ws_url: str
    http: httpx.AsyncClient
    #: changes answered without their audit row (``command.app``): none, or the test fails
    unaudited: list[str] = field(default_factory=list)

    def advance(self, delta: timedelta) -> None:
        """Move the app's clock forward (lockouts, idle sessions)."""
        self.container.clock.advance(delta)


async def _sent_secrets(request: httpx.Request) -> None:
    """Passwords the tests send (sign-ins, new users) are known secrets (log_secrets)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        KNOWN.from_json(request.content)
    KNOWN.add(request.headers.get("authorization", "").removeprefix("Bearer "))


async def _answered_secrets(response: httpx.Response) -> None:
    """Tokens the app hands out (sessions, device tokens) are known secrets."""
    if response.request.url.path in ("/api/v1/auth/login", "/api/v1/devices"):
        KNOWN.from_json(await response.aread())


@asynccontextmanager
async def serve(database_url: str, **overrides: object) -> AsyncIterator[LiveApp]:
    port = free_port()
    overrides.setdefault("audit_dir", tempfile.mkdtemp(prefix="cad-audit-"))
    settings = Settings(database_url=database_url, port=port, **overrides)  # type: ignore[arg-type]
    container = await bootstrap.start(settings)
    app = create_app(settings, container)
    server = uvicorn.Server(
        # Its log goes to the root logger at DEBUG, where the suite searches it for secrets
        # (log_secrets): no logging configuration of uvicorn's own.
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="debug", log_config=None, lifespan="on",
            **uvicorn_options(),
            ws_ping_interval=settings.ws_ping_interval_s,
            ws_ping_timeout=settings.ws_ping_timeout_s,
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            timeout=30,
            event_hooks={"request": [_sent_secrets], "response": [_answered_secrets]},
        ) as http:
            yield LiveApp(
                container,
                f"http://127.0.0.1:{port}",
                f"ws://127.0.0.1:{port}",
                http,
                app.state.unaudited,
            )
        unaudited = [*app.state.unaudited, *container.terminals.unaudited]
        # Every change the test made must have committed with its audit row (request_audit).
        assert not unaudited, f"changes answered without their audit row: {unaudited}"
    finally:
        server.should_exit = True
        await task
        await bootstrap.stop(container)
