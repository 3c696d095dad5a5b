"""Recording consultations and taking stills: the media plane's part, the files, the
attachments.

Starting and stopping a recording are the service's changes with the media plane's call made
inside them (``Consultations.recording``): when Janus refuses, nothing has changed. On stop,
the room's tracks are moved into a folder of their own under ``finished/`` with a manifest
(which consultation, which incident, who stopped it); they are converted to WebM and attached
to the incident after the answer. The folder goes once its files are attached, so a folder
left by a process that died is converted at the next start, and attaching is idempotent (the
same bytes are one attachment). A converting process claims a folder by renaming it, so that
two ``cad serve`` on one folder do not both convert it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from command.auth.service import Principal
from command.consulting.media import MediaRooms
from command.consulting.service import Consultations
from command.consulting.views import Attachment, AttachmentMeta, Details
from command.supervision import alive
from video import recording_names
from video.errors import Conflict, VideoError
from video.sessions import Consultation, Member
from video.still import still_of
from video.webm import recording_of

log = logging.getLogger(__name__)
MANIFEST = "recording.json"
CLAIMED = "@"


@dataclass(frozen=True)
class Manifest:
    consultation_id: int
    incident_id: int
    stopped_by: str


class Recordings:
    """Built once by the bootstrap; ``folder`` is where the media plane records (None: it
    does not)."""

    def __init__(
        self, consultations: Consultations, rooms: MediaRooms, folder: Path | None
    ) -> None:
        self._consultations = consultations
        self._rooms = rooms
        self._folder = folder
        self._converting = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ recording

    async def start_recording(self, consultation_id: int, principal: Principal) -> Details:
        async def effect(c: Consultation) -> None:
            plane, room = await self._rooms.room(c.room, c.title, c.bitrate_kbps)
            await plane.record(room, on=True)

        return await self._consultations.recording(consultation_id, principal, True, effect)

    async def stop_recording(self, consultation_id: int, principal: Principal) -> Details:
        async def effect(c: Consultation) -> None:
            plane, room = await self._rooms.room(c.room, c.title, c.bitrate_kbps)
            await plane.record(room, on=False)
            if room.recordings is not None and c.incident_id is not None:
                self._set_aside(Path(room.recordings),
                                Manifest(c.id, c.incident_id, principal.actor))

        details = await self._consultations.recording(consultation_id, principal, False, effect)
        self.convert_finished()
        return details

    async def end(self, consultation_id: int, principal: Principal) -> Details:
        """End the consultation, stopping its recording first when it runs."""
        details = await self._consultations.details(consultation_id, principal)
        if details.consultation.recording_since is not None and details.consultation.open:
            with contextlib.suppress(Conflict):  # stopped meanwhile by someone else
                await self.stop_recording(consultation_id, principal)
        return await self._consultations.end(consultation_id, principal)

    def _set_aside(self, room_folder: Path, manifest: Manifest) -> None:
        """This recording's tracks into a folder of their own, with what they are."""
        assert self._folder is not None
        target = self._finished / f"{manifest.consultation_id}-{time.time_ns()}"
        target.mkdir(parents=True)
        (target / MANIFEST).write_text(json.dumps(manifest.__dict__))
        for track in room_folder.glob("m-*.mjr"):
            os.replace(track, target / track.name)

    @property
    def _finished(self) -> Path:
        assert self._folder is not None
        return self._folder / "finished"

    # ------------------------------------------------------------------ converting

    def convert_finished(self) -> None:
        """Convert and attach every finished recording, in the background."""
        if self._folder is None:
            return
        task = asyncio.create_task(self._convert_all(), name="recordings: convert")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_converted(self) -> None:
        """Until the conversions started so far are done (for the end of a process)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _convert_all(self) -> None:
        async with self._converting:
            if not self._finished.is_dir():
                return
            for folder in sorted(self._finished.iterdir()):
                claimed = _claim(folder)
                if claimed is None:
                    continue
                try:
                    await self._convert(claimed)
                except (VideoError, OSError, ValueError) as exc:
                    # Left claimed by a live process: taken again at the next start.
                    log.error("recording %s not converted: %s", claimed.name, exc)

    async def _convert(self, folder: Path) -> None:
        manifest = Manifest(**json.loads((folder / MANIFEST).read_text()))
        for (member, _), tracks in sorted(recording_names.tracks_in(folder).items()):
            out = folder / f"{tracks[0].path.name.rsplit('-', 2)[0]}.webm"
            made = await asyncio.to_thread(recording_of, tracks, out, folder)
            if made is None:
                continue
            found = await self._consultations.attach(
                manifest.incident_id, made.path,
                AttachmentMeta("recording", made.media_type, manifest.consultation_id,
                               made.width, made.height, made.duration_s, member),
                manifest.stopped_by, origin="recorder",
            )
            log.info("recording of %s in consultation %d attached: %d, %.1f s", member,
                     manifest.consultation_id, found.id, made.duration_s)
        shutil.rmtree(folder)

    # ------------------------------------------------------------------ stills

    async def still(self, consultation_id: int, member: Member, principal: Principal) -> Attachment:
        """A still of ``member``'s video, attached to the consultation's incident."""
        c, incident_id = await self._consultations.still_allowed(consultation_id, member, principal)
        plane, room = await self._rooms.room(c.room, c.title, c.bitrate_kbps)
        feed = next((p.id for p in await plane.participants(room)
                     if p.display == member.key and p.publishing), None)
        if feed is None:
            raise Conflict(f"{member.key} sends no video", code="video.not_sending",
                           member=member.key)
        picture = await still_of(plane, room, feed)
        return await self._consultations.attach(
            incident_id, picture.jpeg,
            AttachmentMeta("still", "image/jpeg", c.id, picture.width, picture.height,
                           None, member.key),
            principal.actor, origin="media",
        )


def _claim(folder: Path) -> Path | None:
    """The folder renamed as this process's; None: another live process has it."""
    name, _, owner = folder.name.partition(CLAIMED)
    if owner and owner != str(os.getpid()) and (not owner.isdigit() or alive(int(owner))):
        return None
    claimed = folder.with_name(f"{name}{CLAIMED}{os.getpid()}")
    try:
        os.replace(folder, claimed)
    except FileNotFoundError:
        return None  # claimed by another process just now
    return claimed

