"""The benchmarks' load generator spread over processes (``multiprocessing``, spawned): a
worker answers over its pipe, and reports a failure as ``{"failed": why}``."""

from __future__ import annotations

import asyncio
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from command.errors import Unavailable


async def answer(conn: Connection, process: BaseProcess, *, within: float) -> Any:
    """A worker's next message; its failure, death or silence raised here
    (``bench.client_failed``)."""
    deadline = time.monotonic() + within
    while not conn.poll():
        if not process.is_alive() and not conn.poll():
            raise Unavailable("a load generator process of the benchmark died",
                              code="bench.client_failed", reason="died")
        if time.monotonic() > deadline:
            raise Unavailable("a load generator process of the benchmark did not answer",
                              code="bench.client_failed", reason="silent")
        await asyncio.sleep(0.02)
    message = conn.recv()
    if isinstance(message, dict) and "failed" in message:
        raise Unavailable(f"a load generator process of the benchmark failed: "
                          f"{message['failed']}",
                          code="bench.client_failed", reason=str(message["failed"]))
    return message
