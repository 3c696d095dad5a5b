"""``cad serve`` (production: a configured or running database) and ``cad demo``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal
from collections.abc import Callable, Coroutine, Generator
from datetime import timedelta
from typing import Any

import uvicorn

from command import bootstrap, demo_consultation, demo_vehicles
from command.app import create_app, create_tracker_app
from command.bootstrap import Container
from command.calltaking.demo_switch import start_demo_simulator
from command.cli import supervised
from command.cli.common import engine_for, ensure_embedded_running, migrate_and_grant
from command.db import cluster_for
from command.demo import screens_guide, seed_demo
from command.errors import Unavailable
from command.settings import Settings
from command.ws_protocol import uvicorn_options
from ops import migrate

#: new objects between the collector's looks for garbage cycles (CPython's default: 700)
YOUNG_COLLECTION = 50_000
DEMO_SEATS = ("Local/1001@agents", "Local/1002@agents")
NO_SUPERVISE = (
    "serve in this process only: no supervisor restarting the app and the embedded database"
    " (under systemd, which restarts the service itself)"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="serve the API and consoles")
    serve.add_argument("--host", help="default CAD_HOST (127.0.0.1)")
    serve.add_argument("--port", type=int, help="default CAD_PORT (8000)")
    serve.add_argument("--no-supervise", action="store_true", help=NO_SUPERVISE)
    serve.set_defaults(handler=serve_cmd)
    demo = sub.add_parser(
        "demo", help="set up the database and a demo region, seed demo users, and serve"
    )
    demo.add_argument("--port", type=int, help="default CAD_PORT (8000)")
    demo.add_argument("--no-supervise", action="store_true", help=NO_SUPERVISE)
    demo.set_defaults(handler=demo_cmd)


def _settings_with(args: argparse.Namespace, settings: Settings) -> Settings:
    changes = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    return settings.model_copy(update=changes)


async def _serve(
    settings: Settings,
    alongside: Callable[[Container], Coroutine[Any, Any, None]] | None = None,
) -> None:
    """Serve until stopped; ``alongside`` runs as long as the server does (the demo fleet)."""
    container = await bootstrap.start(settings)
    # What start-up built lives as long as the process: out of the collector's way, so that
    # its full collections (pauses of tens of milliseconds on a live map) stay short.
    gc.freeze()
    # The collector looks for cycles every 700 new objects by default: at thousands of unit
    # positions a second (tens of objects each, nearly all freed by reference counting) that
    # was a tenth of the server's CPU. Looking every YOUNG_COLLECTION objects lets a few
    # megabytes of cyclic garbage wait a moment longer.
    gc.set_threshold(YOUNG_COLLECTION, *gc.get_threshold()[1:])
    try:
        app = create_app(settings, container)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_level="info",
            lifespan="on",
            **uvicorn_options(),
            ws_max_size=settings.max_ws_message_bytes,
            ws_ping_interval=settings.ws_ping_interval_s,
            ws_ping_timeout=settings.ws_ping_timeout_s,
            # TLS straight from cad serve (docs/security.md); usually a proxy does it.
            ssl_certfile=settings.tls_cert,
            ssl_keyfile=settings.tls_key,
        )
        servers: list[uvicorn.Server] = [_QuietServer(config)]
        if settings.osmand_port is not None:
            # Trackers and phone apps post to the root of their own port.
            trackers = uvicorn.Config(
                create_tracker_app(container),
                host=settings.host,
                port=settings.osmand_port,
                log_level="info",
                lifespan="off",
            )
            servers.append(_QuietServer(trackers))
        extra = None if alongside is None else asyncio.create_task(alongside(container))
        try:
            await _run_together(servers)
        finally:
            if extra is not None:
                extra.cancel()
                await asyncio.gather(extra, return_exceptions=True)
    finally:
        await bootstrap.stop(container)


class _QuietServer(uvicorn.Server):
    """A server that leaves the signals to ``_run_together`` (which stops every server of the
    process together, and lets the shutdown finish instead of re-raising Ctrl-C into it)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _run_together(servers: list[uvicorn.Server]) -> None:
    """Serve until Ctrl-C or SIGTERM (a second Ctrl-C forces the exit), or until one stops."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            if server.should_exit:
                server.force_exit = True
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def serve_cmd(args: argparse.Namespace, settings: Settings) -> int:
    settings = _settings_with(args, settings)
    if not args.no_supervise:
        return supervised.run("serve", settings)
    if settings.embedded:
        # A supervised worker finds the cluster running: the supervisor owns it.
        ensure_embedded_running(settings, start=settings.supervisor_state is None)

    async def run() -> None:
        async with engine_for(settings, admin=True) as engine:
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


def _local(host: str) -> str:
    """The address to reach this server from this machine."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104


def demo_cmd(args: argparse.Namespace, settings: Settings) -> int:
    settings = _settings_with(args, settings)
    if not args.no_supervise:
        return supervised.run("demo", settings)
    alone = settings.supervisor_state is None
    cluster = cluster_for(settings) if settings.embedded and alone else None
    started_here = cluster is not None and not cluster.running()
    ensure_embedded_running(settings, start=alone)

    async def run() -> None:
        async with engine_for(settings, admin=True) as admin:
            await migrate_and_grant(settings, admin)
        async with engine_for(settings) as engine:
            field_unit = await seed_demo(engine, settings)
            fleet = await demo_vehicles.prepare(
                engine,
                settings.region,
                settings.demo_vehicles,
                timedelta(days=settings.device_token_days),
            )
        # Asterisk stand-in: the AMI simulator with two answering seats and a steady flow of calls.
        served, stop_simulator = await start_demo_simulator(
            settings, seats=DEMO_SEATS, calls_per_minute=settings.demo_calls_per_minute
        )
        print(
            f"simulated call centre: {settings.demo_calls_per_minute:g} calls a minute "
            f"into queue {settings.ami_queues} (AMI on 127.0.0.1:{served.ami_port})"
        )
        if "arrival_sets_on_scene" not in settings.model_fields_set:
            # The simulated vehicles arrive by the geofence: it reports them on scene.
            served = served.model_copy(update={"arrival_sets_on_scene": True})
        policy = demo_vehicles.FleetPolicy(
            every_s=settings.demo_position_s, on_scene_s=settings.demo_on_scene_s
        )
        ws_url = f"ws://{_local(settings.host)}:{settings.port}"

        async def fleet_drives(container: Container) -> None:
            if not fleet or not container.media_rooms.configured:
                await demo_vehicles.drive(ws_url, fleet, policy)
                return
            # The first vehicle is in a standing consultation, sending its camera's stand-in.
            cid = await demo_consultation.prepare(container.consultations, fleet[0])
            print(
                f"video consultation {cid}: vehicle {fleet[0].unit_id} sends a test pattern "
                f"(sign in as {demo_consultation.HOST} to join)",
                flush=True,
            )
            await asyncio.gather(
                demo_vehicles.drive(ws_url, fleet, policy),
                demo_consultation.run_agent(ws_url, fleet[0], cid),
            )

        print(
            f"simulated fleet: {len(fleet)} vehicles report every {policy.every_s:g} s over "
            f"{ws_url}/api/v1/units/ws"
        )
        base = f"http://{_local(settings.host)}:{settings.port}"
        print("\n" + "\n".join(screens_guide(base, field_unit)))
        print(f"\nserving on http://{settings.host}:{settings.port}  (Ctrl-C stops)\n", flush=True)
        try:
            await _serve(served, fleet_drives)
        finally:
            await stop_simulator()

    try:
        asyncio.run(run())
    finally:
        if cluster is not None and started_here:
            cluster.stop()
    return 0
