"""This process's link to the media plane, and the consultations' rooms on it.

The link is made on first use and made again when the SFU's connection ends, so that a Janus
restarted (or not yet up when ``cad serve`` started) costs the participants one reconnect,
not the server. A consultation's room number is the database's (``consultations.room``), so
every ``cad serve`` on one Janus meets in the same room.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from video.errors import MediaPlaneError
from video.media_plane import MediaPlane, Room, RoomSpec

log = logging.getLogger(__name__)

Connect = Callable[[], Awaitable[MediaPlane]]


class MediaRooms:
    """The media plane as the signaling uses it; built once by the bootstrap."""

    def __init__(self, connect: Connect | None, *, max_publishers: int) -> None:
        self._connect = connect
        self._max_publishers = max_publishers
        self._plane: MediaPlane | None = None
        self._lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        return self._connect is not None

    async def plane(self) -> MediaPlane:
        """The live media plane, connected now if it is not (``video.sfu_unavailable``)."""
        async with self._lock:
            if self._plane is not None and not self._plane.closed:
                return self._plane
            if self._connect is None:
                raise MediaPlaneError(
                    "no media server is configured", code="video.sfu_unavailable",
                    reason="not_configured",
                )
            if self._plane is not None:
                log.warning("the media server's connection ended; connecting again")
            self._plane = await self._connect()
            return self._plane

    async def room(self, room_id: int, title: str, bitrate_kbps: int) -> tuple[MediaPlane, Room]:
        """The consultation's room, opened on the media plane if this process has not yet."""
        plane = await self.plane()
        spec = RoomSpec(
            description=title[:60],
            max_publishers=self._max_publishers,
            bitrate=bitrate_kbps * 1000,
        )
        return plane, await plane.open_room(room_id, spec)

    async def end(self, room: Room) -> None:
        """The consultation ended: its room is closed for every process."""
        plane = self._plane
        if plane is not None and not plane.closed:
            await plane.close_room(room)

    async def stop(self) -> None:
        async with self._lock:
            if self._plane is not None:
                await self._plane.close()
                self._plane = None
