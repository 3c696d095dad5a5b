"""The service's health: every part ok or degraded; 503 when the database is down."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import Field

from command.api.deps import ContainerDep
from command.api.schemas.common import Model

router = APIRouter(prefix="/api/v1", tags=["health"])


class PartOut(Model):
    status: str
    detail: str
    code: str | None = Field(default=None, description="the reason's stable code, if it has one")
    params: dict[str, Any] = Field(default_factory=dict)


class HealthOut(Model):
    status: str = "ok"
    parts: dict[str, PartOut]


@router.get("/health")
async def health(c: ContainerDep, response: Response) -> HealthOut:
    parts = await c.health.report()
    overall = "ok" if all(p.status == "ok" for p in parts.values()) else "degraded"
    if parts["database"].status != "ok":
        response.status_code = 503
    return HealthOut(
        status=overall,
        parts={
            name: PartOut(status=p.status, detail=p.detail, code=p.code, params=dict(p.params))
            for name, p in parts.items()
        },
    )
