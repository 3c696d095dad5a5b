"""Event log bodies: one committed event, and a page of them from a resume position."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from command.api.schemas.common import Model


class EventOut(Model):
    seq: int
    at: datetime
    type: str
    subject_type: str
    subject_id: str
    actor: str | None
    data: dict[str, Any]


class EventPage(Model):
    events: list[EventOut]
    last_seq: int


class EventHead(Model):
    last_seq: int = Field(description="the newest sequence number: where a new console starts")
