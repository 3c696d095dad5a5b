"""Units over HTTP: the dispatchers' status board with timer alerts, one unit, and the unit
terminal's acknowledgment and status reports (a field terminal only for its own unit).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from command.api.deps import require_roles
from command.api.incidents import Service
from command.auth.roles import Role
from command.auth.service import Principal
from dispatch.timers import overdue
from dispatch.units import Unit, UnitStatus, parse_status

router = APIRouter(prefix="/api/v1/units", tags=["units"])

R = Role
Reader = Annotated[
    Principal, Depends(require_roles(R.DISPATCHER, R.CALL_TAKER, R.LEADER, R.SUPERVISOR, R.ADMIN))
]
Reporter = Annotated[Principal, Depends(require_roles(R.FIELD_UNIT, R.DISPATCHER, R.SUPERVISOR))]


class StatusIn(BaseModel):
    status: str
    reason: str = Field(default="", max_length=2000)


def unit_json(unit: Unit, numbers: dict[int, str] | None = None) -> dict[str, Any]:
    return {
        "id": unit.id,
        "callsign": unit.callsign,
        "unit_type": unit.unit_type,
        "station_id": unit.station_id,
        "capabilities": sorted(c.value for c in unit.capabilities),
        "crew": unit.crew,
        "status": unit.status.value,
        "status_since": unit.status_since,
        "incident_id": unit.incident_id,
        "incident_number": (numbers or {}).get(unit.incident_id or -1),
        "acknowledged_at": unit.acknowledged_at,
        "position": None if unit.fix is None else {"lon": unit.fix.lon, "lat": unit.fix.lat},
        "position_at": unit.fix_at,
        "station_position": None
        if unit.station_position is None
        else {"lon": unit.station_position.lon, "lat": unit.station_position.lat},
        "version": unit.version,
    }


@router.get("/board")
async def board(_: Reader, service: Service) -> dict[str, Any]:
    """Every unit with its status and incident, the counts per status, and the timer alerts."""
    units = await service.units()
    numbers = await service.incident_numbers({u.incident_id for u in units if u.incident_id})
    now = service.now()
    alerts = overdue(units, now, service.config.status_limits)
    counts = {s.value: 0 for s in UnitStatus}
    for u in units:
        counts[u.status.value] += 1
    return {
        "at": now,
        "counts": counts,
        "units": [unit_json(u, numbers) for u in units],
        "alerts": [
            {
                "unit_id": a.unit_id,
                "code": a.code,
                "status": a.status.value,
                "since": a.since,
                "limit_s": a.limit_s,
                "elapsed_s": round(a.elapsed_s, 1),
                "incident_id": a.incident_id,
                "incident_number": numbers.get(a.incident_id or -1),
            }
            for a in alerts
        ],
    }


@router.get("/{unit_id}")
async def one(unit_id: str, _: Reader, service: Service) -> dict[str, Any]:
    unit = await service.unit(unit_id)
    numbers = await service.incident_numbers({unit.incident_id} if unit.incident_id else set())
    return unit_json(unit, numbers)


@router.get("/{unit_id}/assignment")
async def assignment(unit_id: str, who: Reporter, service: Service) -> dict[str, Any]:
    """The unit's open assignment with its incident (``assignment`` null when it has none)."""
    await service.unit_for_principal(unit_id, who.name, {r.value for r in who.roles})
    found = await service.current_assignment(unit_id)
    return found or {"assignment": None, "incident": None}


@router.post("/{unit_id}/acknowledge")
async def acknowledge(unit_id: str, who: Reporter, service: Service) -> dict[str, Any]:
    await service.unit_for_principal(unit_id, who.name, {r.value for r in who.roles})
    a = await service.acknowledge(unit_id, who.actor)
    return {"unit_id": unit_id, "incident_id": a.incident_id, "acknowledged_at": a.acknowledged_at}


@router.post("/{unit_id}/status")
async def report_status(
    unit_id: str, body: StatusIn, who: Reporter, service: Service
) -> dict[str, Any]:
    await service.unit_for_principal(unit_id, who.name, {r.value for r in who.roles})
    unit = await service.report_status(unit_id, parse_status(body.status), who.actor, body.reason)
    return unit_json(unit)
