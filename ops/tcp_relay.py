"""A TCP relay whose link can be cut and restored, as when a network path goes away.

While cut, open sessions are closed and new ones refused; restored, it accepts again. A link
that goes silent instead (``silence``: a vehicle in a tunnel) closes nothing and carries
nothing: only the peers' own keepalives can find it. The
telephony tests and ``cad bench ami`` put it between the bridge and Asterisk's AMI port.
"""

from __future__ import annotations

import asyncio
import contextlib

from ops.pgcluster import free_port


class LinkCut:
    """A relay from a free local port to ``port`` on the loopback."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self.silent = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self._pipes |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    if self.silent:
                        continue  # swallowed, as by a path that went away
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._pipes -= {writer, up_writer}

    async def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for pipe in list(self._pipes):
            pipe.transport.abort()
        self._pipes.clear()
        if server is not None:
            await server.wait_closed()

    def silence(self) -> None:
        """Carry nothing more, and close nothing: the link goes quiet."""
        self.silent = True

    async def restore(self) -> None:
        self.silent = False
        await self.start()

    async def stop(self) -> None:
        await self.cut()
