"""The bare broadcast server that ``cad bench avl`` holds the tracking service against.

What a team would start from without the design: one websockets server that takes every frame
a unit sends on ``/units`` and sends it on, as it is, to every console connected on
``/consoles``. No authentication, no validation, no storage, no coalescing, no pacing:
``websockets.broadcast`` writes each frame to every console's socket at once and never waits
for one.

Run by the benchmark as its own process: ``python -m command.bench.avl_baseline --port P``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from websockets.asyncio.server import ServerConnection, broadcast, serve


async def _run(host: str, port: int, compress: bool) -> None:
    consoles: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        if ws.request is not None and ws.request.path.startswith("/consoles"):
            consoles.add(ws)
            try:
                await ws.wait_closed()
            finally:
                consoles.discard(ws)
            return
        async for frame in ws:
            broadcast(consoles, frame)

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    # websockets compresses each frame by default (permessage-deflate); cad serve does not
    # (command.ws_protocol). ``--no-compression`` runs the bare server without it too.
    async with serve(handler, host, port, compression="deflate" if compress else None):
        print("ready", flush=True)
        await stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-compression", action="store_true",
                        help="decline permessage-deflate (websockets offers it by default)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args.host, args.port, not args.no_compression))


if __name__ == "__main__":
    main()
