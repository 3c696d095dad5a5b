"""Trackers over HTTP: OsmAnd and Traccar Client reports at ``/api/v1/osmand`` (and at ``/`` of
the tracker port, ``CAD_OSMAND_PORT``, where trackers expect it), and the bindings of device ids
to units (administrators).

OsmAnd apps and trackers have no token: the device id is what identifies them, and only a
device id an administrator bound to a unit is taken.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from command.api.deps import ContainerDep, origin_of, require_roles
from command.api.schemas.trackers import BindingIn, BindingOut, BindingsOut, OsmAndOut
from command.auth.roles import Role
from command.auth.service import Principal

router = APIRouter(tags=["trackers"])
#: The same report on the tracker port, at its root.
port_router = APIRouter(tags=["trackers"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


async def osmand(request: Request, c: ContainerDep) -> OsmAndOut:
    """One position: OsmAnd query or form fields, or Traccar Client 9's JSON body."""
    report = c.trackers.read(
        dict(request.query_params), request.headers.get("content-type", ""), await request.body()
    )
    stored = await c.trackers.report(report)
    f = stored.fix
    return OsmAndOut(
        device_id=stored.device_id,
        unit_id=stored.unit_id,
        lon=f.lon,
        lat=f.lat,
        device_time=f.device_time,
        jump=f.jump,
    )


for method in ("GET", "POST"):
    router.add_api_route(
        "/api/v1/osmand", osmand, methods=[method], operation_id=f"osmand_{method.lower()}"
    )
    port_router.add_api_route(
        "/", osmand, methods=[method], operation_id=f"osmand_port_{method.lower()}"
    )


@router.get("/api/v1/devices/bindings")
async def bindings(_: Admin, c: ContainerDep) -> BindingsOut:
    return BindingsOut(bindings=[BindingOut.model_validate(b) for b in await c.trackers.bindings()])


@router.put("/api/v1/devices/bindings/{device_id}")
async def bind(
    device_id: str, body: BindingIn, who: Admin, c: ContainerDep, request: Request
) -> BindingOut:
    """Bind a tracker's device id to a unit (a bound id moves to the new unit)."""
    made = await c.trackers.bind(device_id, body.unit_id, origin_of(request, who))
    return BindingOut.model_validate(made)


@router.delete("/api/v1/devices/bindings/{device_id}")
async def unbind(device_id: str, who: Admin, c: ContainerDep, request: Request) -> BindingOut:
    gone = await c.trackers.unbind(device_id, origin_of(request, who))
    return BindingOut.model_validate(gone)
