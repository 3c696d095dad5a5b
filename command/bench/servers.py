"""The servers a benchmark starts as processes of its own: started, waited for, stopped."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psutil

from command.errors import Unavailable


@asynccontextmanager
async def server_process(
    argv: list[str], env: dict[str, str], ready: Callable[[], Awaitable[bool]], log: Path
) -> AsyncIterator[psutil.Process]:
    """The benchmark's server ``argv`` started, once ``ready()`` holds; its output to ``log``;
    terminated at the end (killed after 30 s)."""
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 120
        while not await ready():
            if proc.returncode is not None or time.monotonic() > deadline:
                raise Unavailable(
                    f"the benchmark's server did not start (see {log})",
                    code="bench.server_failed",
                    log=str(log),
                )
            await asyncio.sleep(0.2)
        yield psutil.Process(proc.pid)
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def http_ready(url: str) -> Callable[[], Awaitable[bool]]:
    """Ready when ``url`` answers 200."""
    async def ready() -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(url)).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


def port_ready(port: int) -> Callable[[], Awaitable[bool]]:
    """Ready when the loopback ``port`` accepts a connection."""
    async def ready() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    return ready
