"""The demo's call centre: an AMI simulator on a free port with a steady flow of calls."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

from command.settings import Settings


async def start_demo_simulator(
    settings: Settings,
    seats: Sequence[str] = (),
    calls_per_minute: float = 4.0,
) -> tuple[Settings, Callable[[], Awaitable[None]]]:
    """For ``cad demo``: an AMI simulator on a free port with a steady flow of calls.

    Returns the settings pointing the bridge at it, and a stop function. Seats listed are
    signed in from the switch side; otherwise call-takers sign in from their consoles.
    """
    from telephony.simulator import AmiSimulator

    queues = [q.strip() for q in settings.ami_queues.split(",") if q.strip()] or ["emergency"]
    secret = settings.ami_secret or "cadsecret"
    sim = AmiSimulator(settings.ami_host, 0, settings.ami_username, secret, queues)
    port = await sim.start()
    for n, interface in enumerate(seats):
        sim.add_member(interface, f"Seat {n + 1}", queues[0])
    flow = asyncio.get_running_loop().create_task(
        sim.flow(calls_per_minute / 60.0, talk=30.0, hold_for=90.0)
    )

    async def stop() -> None:
        flow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flow
        await sim.stop()

    return settings.model_copy(update={"ami_port": port, "ami_secret": secret}), stop
