"""``cad video agent`` as a command vehicle runs it: a process of its own joins a consultation
with its unit's device token and sends the test pattern, which the host decodes; when its link
drops it joins again by itself; removed by the host, it stops with its reason."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from command.consulting.signaling import TRY_AGAIN_LATER
from tests.support import dispatch_builders as b
from tests.support.consultations import consultation, seats, sees
from tests.support.live import LiveApp
from tests.support.log_secrets import KNOWN
from tests.support.waiting import until
from video.peer import Peer

pytestmark = pytest.mark.timeout(180)


@contextlib.asynccontextmanager
async def _agent(app: LiveApp, token: str, cid: int) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "command", "video", "agent", "--token", token,
        "--session", str(cid), "--server", app.ws_url, "--index", "7",
        env={**os.environ}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        out = await process.communicate()
        KNOWN.output("cad video agent", out[0].decode(errors="replace") if out[0] else "")


async def _line(process: asyncio.subprocess.Process, start: str, within: float) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(within):
        while True:
            line = (await process.stdout.readline()).decode()
            assert line, "the agent ended"
            if line.startswith(start):
                return line


async def test_the_agent_sends_rejoins_after_a_drop_and_stops_when_removed(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    [lead] = await seats(app, map_engine, 1)
    await b.add_unit(map_engine, "CMD1", "command_vehicle")
    token = (await b.terminal(map_engine, "CMD1"))["Authorization"].removeprefix("Bearer ")
    cid = await consultation(app, lead, [], units=["CMD1"])
    host = await Peer.join(app.ws_url, lead.token, cid)
    try:
        await host.subscribe("all")
        async with _agent(app, token, cid) as agent:
            await _line(agent, "joined consultation", 30)
            await sees(host, {"unit:CMD1": 7})

            # Its link drops (the server loses its socket): it is back by itself.
            channel = app.container.signaling_channels.of(cid, "unit:CMD1")
            assert channel is not None
            dropped = time.monotonic()
            channel.end(TRY_AGAIN_LATER, "video.leg_gone")
            await _line(agent, "joined consultation", 15)
            print(f"\nthe agent joined again {time.monotonic() - dropped:.2f} s after the drop")
            await until(lambda: app.container.signaling_channels.of(cid, "unit:CMD1")
                        not in (None, channel), 10)
            await sees(host, {"unit:CMD1": 7})

            # Removed by the host: it stops, saying why, with the refusal's exit status.
            r = await app.http.post(f"/api/v1/consultations/{cid}/participants/unit/CMD1/remove",
                                    headers=lead.headers)
            assert r.status_code == 200, r.text
            line = await _line(agent, "left consultation", 15)
            assert "consultation.removed" in line
            assert await asyncio.wait_for(agent.wait(), 15) == 2
    finally:
        await host.leave()
