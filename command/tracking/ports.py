"""What the tracking service hands positions to: small interfaces with one job each, so a
message system can replace the cross-process path without touching ingest or consoles."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from dispatch.avl.fixes import Fix


class PositionWriter(Protocol):
    """Stores breadcrumbs (in batches, possibly with asynchronous commit) and each unit's
    latest position."""

    async def write(self, fixes: Sequence[Fix]) -> asyncio.Future[int]:
        """Queue ``fixes`` (never waiting for the database); the future is resolved with how
        many were stored once they are committed."""
        ...


class PositionRelay(Protocol):
    """Carries accepted positions to every process's consoles (this one included)."""

    async def publish(self, fixes: Sequence[Fix]) -> None: ...
