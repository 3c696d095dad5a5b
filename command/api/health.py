"""GET /api/v1/health: each part as ok or degraded. Open to all, for monitoring."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from command.api.deps import ContainerDep

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get("/health")
async def health(container: ContainerDep, response: Response) -> dict[str, Any]:
    parts = await container.health()
    overall = "ok" if all(p.status == "ok" for p in parts.values()) else "degraded"
    if parts["database"].status != "ok":
        response.status_code = 503
    return {
        "status": overall,
        "parts": {name: {"status": p.status, "detail": p.detail} for name, p in parts.items()},
    }
