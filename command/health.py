"""Health of the running parts (database, event stream, telephony link): ok or degraded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PartHealth:
    status: str  # ok | degraded
    detail: str = ""
    # A stable reason code (docs/errors.md, Reasons) and its parameters, for parts that give one.
    code: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


HealthCheck = Callable[[], Awaitable[PartHealth]]


@dataclass
class HealthBoard:
    """Every part's check, run together with a time limit each."""

    checks: dict[str, HealthCheck] = field(default_factory=dict)
    limit_s: float = 3.0

    async def report(self) -> dict[str, PartHealth]:
        async def run(check: HealthCheck) -> PartHealth:
            try:
                async with asyncio.timeout(self.limit_s):
                    return await check()
            except Exception as exc:
                return PartHealth("degraded", f"{type(exc).__name__}: {exc}")

        names = list(self.checks)
        results = await asyncio.gather(*(run(self.checks[n]) for n in names))
        return dict(zip(names, results, strict=True))
