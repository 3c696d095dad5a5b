"""The live media state of the consultations running on this process: who sends audio or
video, who speaks, and each participant's connection quality.

Held in memory, replaced by every report, never written row by row: a stats report every
second from every participant would be most of the database's writes and nobody reads them
later. The signaling socket that receives the reports is on the process that holds the state;
it registers a watcher (``watch``) to pass the notable changes (``video.live.apply``) on to the
consoles in the consultation, and a console that opens a consultation reads the whole state
with ``of``. A participant's state is dropped when it leaves; a consultation's when it ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from video.live import MediaReport, MediaState, apply


@dataclass(frozen=True)
class LiveChange:
    consultation_id: int
    member: str
    state: MediaState


Watcher = Callable[[LiveChange], None]


class LiveBoard:
    """The media state per consultation and participant; built once by the bootstrap."""

    def __init__(self) -> None:
        self._states: dict[int, dict[str, MediaState]] = {}
        self._watchers: list[Watcher] = []

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Call ``watcher`` with every notable change; returns what stops it."""
        self._watchers.append(watcher)
        return lambda: self._watchers.remove(watcher) if watcher in self._watchers else None

    def report(
        self, consultation_id: int, member: str, report: MediaReport, at: datetime
    ) -> MediaState:
        room = self._states.setdefault(consultation_id, {})
        state, notable = apply(room.get(member, MediaState()), report, at)
        room[member] = state
        if notable:
            change = LiveChange(consultation_id, member, state)
            for watcher in list(self._watchers):
                watcher(change)
        return state

    def of(self, consultation_id: int) -> dict[str, MediaState]:
        return dict(self._states.get(consultation_id, {}))

    def drop(self, consultation_id: int, member: str | None = None) -> None:
        if member is None:
            self._states.pop(consultation_id, None)
        else:
            self._states.get(consultation_id, {}).pop(member, None)
