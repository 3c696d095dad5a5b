"""The fleet over HTTP: stations, units created and changed, taken out of service and returned,
the unit types, and the run cards changed at run time. Supervisors and administrators change
them; dispatchers, leaders, supervisors and administrators read the lists. Every change is
audited and evented by ``command.dispatching.fleet``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request

from command.api.deps import ContainerDep, origin_of, require_roles
from command.api.schemas.fleet import (
    RunCardIn,
    RunCardOut,
    RunCardsOut,
    ServiceIn,
    StationChangeIn,
    StationIn,
    StationOut,
    StationsOut,
    UnitChangeIn,
    UnitIn,
    UnitTypeOut,
    UnitTypesOut,
)
from command.api.schemas.units import UnitOut
from command.auth.roles import Role
from command.auth.service import Principal
from command.dispatching.fleet import NewStation, NewUnit, StationChange, UnitChange, unit_types
from dispatch.units import Capability

router = APIRouter(prefix="/api/v1", tags=["fleet"])

R = Role
Reader = Annotated[
    Principal, Depends(require_roles(R.DISPATCHER, R.LEADER, R.SUPERVISOR, R.ADMIN))
]
Keeper = Annotated[Principal, Depends(require_roles(R.SUPERVISOR, R.ADMIN))]


# ---------------------------------------------------------------------- stations


def _names(names: Mapping[Literal["zh-CN", "en"], str]) -> dict[str, str]:
    return {str(language): name for language, name in names.items()}


@router.get("/stations")
async def stations(_: Reader, c: ContainerDep, region: str | None = None) -> StationsOut:
    """The stations (of ``region`` when given), by id."""
    found = await c.fleet.stations(region)
    return StationsOut(region=c.fleet.region, stations=[StationOut.of(s) for s in found])


@router.post("/stations", status_code=201)
async def create_station(
    body: StationIn, who: Keeper, c: ContainerDep, request: Request
) -> StationOut:
    """A new station at a point inside an imported region (by default this centre's)."""
    made = await c.fleet.create_station(
        NewStation(body.id, body.name, body.lon, body.lat, body.region, _names(body.names)),
        origin_of(request, who),
    )
    return StationOut.of(made)


@router.patch("/stations/{station_id}")
async def change_station(
    station_id: str, body: StationChangeIn, who: Keeper, c: ContainerDep, request: Request
) -> StationOut:
    """A station's name, names per language, or position (lon and lat together)."""
    change = StationChange(
        body.name, None if body.names is None else _names(body.names), body.lon, body.lat
    )
    return StationOut.of(await c.fleet.change_station(station_id, change, origin_of(request, who)))


# ---------------------------------------------------------------------- units


@router.get("/unit-types")
async def types(_: Reader) -> UnitTypesOut:
    """The unit types with their usual capabilities and crew, and every capability."""
    return UnitTypesOut(
        types=[UnitTypeOut.of(t) for t in unit_types()],
        capabilities=[cap.value for cap in Capability],
    )


@router.post("/units", status_code=201)
async def create_unit(body: UnitIn, who: Keeper, c: ContainerDep, request: Request) -> UnitOut:
    """A new unit, available, of a unit type (its capabilities and crew by default)."""
    new = NewUnit(
        id=body.id,
        unit_type=body.unit_type,
        callsign=body.callsign,
        capabilities=body.capabilities,
        crew=body.crew,
        station_id=body.station_id,
    )
    return UnitOut.of(await c.fleet.create_unit(new, origin_of(request, who)))


@router.patch("/units/{unit_id}")
async def change_unit(
    unit_id: str, body: UnitChangeIn, who: Keeper, c: ContainerDep, request: Request
) -> UnitOut:
    """A unit's station, type, capabilities or crew, at the version read; a unit working on an
    incident keeps its type, capabilities and crew (``unit.on_assignment``)."""
    change = UnitChange(
        version=body.version,
        unit_type=body.unit_type,
        capabilities=body.capabilities,
        crew=body.crew,
        station_id=body.station_id,
        rehome="station_id" in body.model_fields_set,
    )
    return UnitOut.of(await c.fleet.change_unit(unit_id, change, origin_of(request, who)))


@router.post("/units/{unit_id}/service")
async def service(
    unit_id: str, body: ServiceIn, who: Keeper, c: ContainerDep, request: Request
) -> UnitOut:
    """Out of service, or back to available, through the status machine; refused for a unit
    working on an incident (a dispatcher releases it first)."""
    unit = await c.fleet.set_in_service(
        unit_id, body.in_service, body.version, body.reason, origin_of(request, who)
    )
    return UnitOut.of(unit)


# ---------------------------------------------------------------------- run cards


@router.get("/run-cards")
async def run_cards(_: Reader, c: ContainerDep) -> RunCardsOut:
    """Every incident type's run card in effect, its configured default, and whether it was
    changed here."""
    return RunCardsOut(cards=[RunCardOut.of(line) for line in await c.fleet.run_cards()])


@router.put("/run-cards/{type_code}")
async def put_run_card(
    type_code: str, body: RunCardIn, who: Keeper, c: ContainerDep, request: Request
) -> RunCardOut:
    """The run card of one incident type (capability -> count), in place of its default; the
    next recommendation uses it."""
    line = await c.fleet.put_run_card(type_code, body.requirements, origin_of(request, who))
    return RunCardOut.of(line)


@router.delete("/run-cards/{type_code}")
async def reset_run_card(
    type_code: str, who: Keeper, c: ContainerDep, request: Request
) -> RunCardOut:
    """Remove the change: the configured card applies again."""
    return RunCardOut.of(await c.fleet.reset_run_card(type_code, origin_of(request, who)))
