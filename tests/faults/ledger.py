"""What the load's clients sent and what the server acknowledged, with each item's key."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Item:
    """One write: ``kind`` (incident, note, assignment, release, position, message), the
    idempotency key it went with, and how it is found in the database (``subject``)."""

    kind: str
    key: str
    subject: str
    sent_at: float = field(default_factory=time.monotonic)
    acked_at: float | None = None
    #: the server said it cannot tell whether the first attempt was done (never retried then)
    unknown: bool = False
    #: a refusal (4xx other than a retryable one): its error code
    refused: str | None = None

    @property
    def acked(self) -> bool:
        return self.acked_at is not None


@dataclass
class Ledger:
    items: list[Item] = field(default_factory=list)
    #: every 5xx answer other than 503 (and 503s without Retry-After): a bug each
    server_errors: list[str] = field(default_factory=list)
    #: how many times a client sent a request again after a failure
    retries: int = 0

    def add(self, kind: str, key: str, subject: str) -> Item:
        item = Item(kind, key, subject)
        self.items.append(item)
        return item

    def of(self, kind: str) -> Iterator[Item]:
        return (i for i in self.items if i.kind == kind)

    def acked_between(self, start: float, end: float) -> int:
        return sum(1 for i in self.items if i.acked_at is not None and start <= i.acked_at < end)

    def open_items(self) -> list[Item]:
        return [i for i in self.items if not i.acked and not i.unknown and i.refused is None]
