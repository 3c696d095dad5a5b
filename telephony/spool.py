"""Call events kept on local disk while the database is away, in the order they happened.

A spool file holds one JSON line per domain event (:func:`encode` / :func:`decode`). The bridge's
writer appends to it once its in-memory backlog is full and reads it back, oldest first, when
the database answers again; a file left by a process that stopped meanwhile is picked up by the
next one. Only ``read``/``append``/``clear`` touch the disk.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from telephony.calls import CallTransitioned, CallUpdated, CallView
from telephony.seats import SeatChanged, SeatView

log = logging.getLogger(__name__)

DomainEvent = CallTransitioned | CallUpdated | SeatChanged
_CALL_TIMES = ("queued_at", "offered_at", "answered_at", "completed_at", "abandoned_at",
               "transferred_at", "ended_at")
_SEAT_TIMES = ("signed_in_at", "paused_at")


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _call(data: dict[str, Any]) -> CallView:
    fields = dict(data)
    for key in _CALL_TIMES:
        fields[key] = _time(fields.get(key))
    if fields.get("location") is not None:
        fields["location"] = tuple(fields["location"])
    return CallView(**fields)


def _seat(data: dict[str, Any]) -> SeatView:
    fields = dict(data)
    for key in _SEAT_TIMES:
        fields[key] = _time(fields.get(key))
    fields["queues"] = tuple(fields["queues"])
    return SeatView(**fields)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def encode(event: DomainEvent) -> str:
    if isinstance(event, CallTransitioned):
        body: dict[str, Any] = {"k": "t", "call": event.call.as_json(), "from": event.from_state,
                                "to": event.to_state}
    elif isinstance(event, CallUpdated):
        body = {"k": "u", "call": event.call.as_json(), "change": event.change}
    else:
        body = {"k": "s", "seat": event.seat.as_json(), "change": event.change}
    body["at"] = event.at.isoformat()
    body["detail"] = _plain(event.detail)
    return json.dumps(body, separators=(",", ":"))


def decode(line: str) -> DomainEvent:
    body = json.loads(line)
    at = datetime.fromisoformat(body["at"])
    if body["k"] == "t":
        return CallTransitioned(_call(body["call"]), body["from"], body["to"], at, body["detail"])
    if body["k"] == "u":
        return CallUpdated(_call(body["call"]), at, body["change"], body["detail"])
    return SeatChanged(_seat(body["seat"]), body["change"], at, body["detail"])


class Spool:
    """An append-only file of events, read back from a remembered offset."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self.count = 0  # events in the file not read back yet
        if path.exists():
            with path.open("rb") as f:
                self.count = sum(1 for line in f if line.strip())
            if self.count:
                log.warning("%d call events left in %s by an earlier run: writing them first",
                            self.count, path)

    @property
    def active(self) -> bool:
        return self.count > 0

    def append(self, events: Sequence[DomainEvent]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.writelines(encode(e) + "\n" for e in events)
            f.flush()
            os.fsync(f.fileno())
        self.count += len(events)

    def peek(self, limit: int) -> tuple[list[DomainEvent], int]:
        """Up to ``limit`` of the oldest events not yet written, and the offset after them."""
        out: list[DomainEvent] = []
        with self.path.open("rb") as f:
            f.seek(self._offset)
            end = self._offset
            while len(out) < limit:
                line = f.readline()
                if not line:
                    break
                end += len(line)
                if line.strip():
                    out.append(decode(line.decode("utf-8")))
        return out, end

    def consumed(self, events: int, offset: int) -> None:
        """The events read by :meth:`peek` are stored: move past them; an emptied file goes."""
        self._offset = offset
        self.count = max(self.count - events, 0)
        if self.count == 0:
            self.path.unlink(missing_ok=True)
            self._offset = 0
