"""``cad serve`` (production: a configured or running database) and ``cad demo``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re

import uvicorn

from command import bootstrap
from command.app import create_app
from command.calltaking.demo_switch import start_demo_simulator
from command.cli.common import engine_for, ensure_embedded_running
from command.db import cluster_for
from command.demo import seed_demo
from command.errors import Unavailable
from command.settings import Settings
from ops import migrate

DEMO_SEATS = ("Local/1001@agents", "Local/1002@agents")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="serve the API and consoles")
    serve.add_argument("--host", help="default CAD_HOST (127.0.0.1)")
    serve.add_argument("--port", type=int, help="default CAD_PORT (8000)")
    serve.set_defaults(handler=serve_cmd)
    demo = sub.add_parser(
        "demo", help="set up the database and a demo region, seed demo users, and serve"
    )
    demo.add_argument("--port", type=int, help="default CAD_PORT (8000)")
    demo.set_defaults(handler=demo_cmd)


def _settings_with(args: argparse.Namespace, settings: Settings) -> Settings:
    changes = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    return settings.model_copy(update=changes)


class _RedactTokens(logging.Filter):
    """Websocket URLs carry ``?token=`` (browsers cannot set headers): keep it out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        return True


_TOKEN = re.compile(r"((?:^|[?&])token=)[^&\s]*")


async def _serve(settings: Settings) -> None:
    logging.getLogger("uvicorn.access").addFilter(_RedactTokens())
    container = await bootstrap.start(settings)
    try:
        app = create_app(settings, container)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level="info",
            lifespan="on",
            ws_max_size=settings.max_ws_message_bytes,
        )
        await uvicorn.Server(config).serve()
    finally:
        await bootstrap.stop(container)


def serve_cmd(args: argparse.Namespace, settings: Settings) -> int:
    settings = _settings_with(args, settings)
    if settings.embedded:
        ensure_embedded_running(settings)

    async def run() -> None:
        async with engine_for(settings) as engine:
            pending = await migrate.pending(engine)
        if pending:
            raise Unavailable(
                f"the database schema is behind ({', '.join(pending)}): run `cad db migrate`",
                code="database.schema_behind",
                pending=pending,
            )
        await _serve(settings)

    asyncio.run(run())
    return 0


def demo_cmd(args: argparse.Namespace, settings: Settings) -> int:
    settings = _settings_with(args, settings)
    cluster = cluster_for(settings) if settings.embedded else None
    started_here = cluster is not None and not cluster.running()
    ensure_embedded_running(settings)

    async def run() -> None:
        async with engine_for(settings) as engine:
            await migrate.upgrade(engine)
            await seed_demo(engine, settings)
        # Asterisk stand-in: the AMI simulator with two answering seats and a steady flow of calls.
        served, stop_simulator = await start_demo_simulator(
            settings, seats=DEMO_SEATS, calls_per_minute=settings.demo_calls_per_minute
        )
        print(
            f"simulated call centre: {settings.demo_calls_per_minute:g} calls a minute "
            f"into queue {settings.ami_queues} (AMI on 127.0.0.1:{served.ami_port})"
        )
        print(f"\nserving on http://{settings.host}:{settings.port}  (Ctrl-C stops)\n", flush=True)
        try:
            await _serve(served)
        finally:
            await stop_simulator()

    try:
        asyncio.run(run())
    finally:
        if cluster is not None and started_here:
            cluster.stop()
    return 0
