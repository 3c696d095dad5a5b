"""GIS over HTTP for the map: reverse geocoding, jurisdictions, zones, routes, vector tiles.

- ``GET /api/v1/gis/reverse?lat=&lon=&region=``: nearest address, street (estimated number and
  side) or intersection, with the jurisdiction;
- ``GET /api/v1/gis/jurisdiction?lat=&lon=&region=``;
- ``POST /api/v1/gis/zones`` (GeoJSON polygon), ``GET /api/v1/gis/zones?region=``,
  ``GET /api/v1/gis/zones/at?lat=&lon=&region=``, ``DELETE /api/v1/gis/zones/{id}?region=``;
- ``GET /api/v1/gis/route?from=LAT,LON&to=LAT,LON&region=``: duration, length and geometry;
- ``GET /api/v1/gis/tiles/{z}/{x}/{y}.pbf`` and ``GET /api/v1/gis/style.json``: the basemap.

Coordinates out of range, a polygon that crosses itself or an impossible tile answer 422 with
a message naming the problem, and nothing is written.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from command import audit
from command.api.deps import ContainerDep, audit_source, require_roles
from command.auth.roles import Role
from command.auth.service import Principal
from command.errors import InvalidInput, NotFound
from gis import reverse as gis_reverse
from gis import tiles, zones
from gis.coordtext import parse_coordinates

router = APIRouter(prefix="/api/v1/gis", tags=["gis"])

R = Role
MapReader = Annotated[
    Principal,
    Depends(
        require_roles(R.CALL_TAKER, R.DISPATCHER, R.LEADER, R.SUPERVISOR, R.ADMIN, R.FIELD_UNIT)
    ),
]
ZoneEditor = Annotated[Principal, Depends(require_roles(R.SUPERVISOR, R.ADMIN, R.LEADER))]

Region = Annotated[
    str, Query(min_length=1, max_length=63, description="an imported region, e.g. liechtenstein")
]
Lat = Annotated[float, Query(description="latitude, WGS84 degrees")]
Lon = Annotated[float, Query(description="longitude, WGS84 degrees")]

TILE_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


class ZoneIn(BaseModel):
    """A zone to store: a GeoJSON Polygon or MultiPolygon (or one Feature of either)."""

    region: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=40, description="e.g. industrial_park, tunnel")
    geometry: dict[str, Any]


def _point(text: str, which: str) -> tuple[float, float]:
    """``(lon, lat)`` from ``LAT,LON`` text (any form :func:`parse_coordinates` reads)."""
    parsed = parse_coordinates(text)
    if parsed is None:
        raise InvalidInput(f"{which}={text!r} is not a coordinate pair; give it as LAT,LON")
    lat, lon = parsed
    return lon, lat


@router.get("/reverse")
async def reverse_route(
    _: MapReader, container: ContainerDep, lat: Lat, lon: Lon, region: Region
) -> dict[str, Any]:
    """What is at a point: address, intersection, or street with an estimated number."""
    async with container.engine.connect() as conn:
        found = await gis_reverse.reverse(conn, region, lon, lat)
    return asdict(found)


@router.get("/jurisdiction")
async def jurisdiction_route(
    _: MapReader, container: ContainerDep, lat: Lat, lon: Lon, region: Region
) -> dict[str, Any]:
    """The jurisdiction (municipality) covering a point; 404 outside all of them."""
    async with container.engine.connect() as conn:
        found = await gis_reverse.jurisdiction_at(conn, region, lon, lat)
    if found is None:
        raise NotFound(f"no jurisdiction of region {region!r} covers {lat}, {lon}")
    return asdict(found)


@router.post("/zones", status_code=201)
async def create_zone_route(
    principal: ZoneEditor, container: ContainerDep, body: ZoneIn, request: Request
) -> dict[str, Any]:
    """Store a zone; a self-crossing or out-of-range polygon is refused and nothing is written."""
    async with container.engine.begin() as conn:
        zone = await zones.create_zone(conn, body.region, body.name, body.kind, body.geometry)
        await audit.record(
            conn,
            actor=principal.actor,
            action="zone.create",
            object_type="gis_zone",
            object_id=str(zone.id),
            source=audit_source(request),
            result="ok",
            detail={"region": zone.region, "name": zone.name, "kind": zone.kind},
        )
    return zones.zone_feature(zone)


@router.get("/zones")
async def list_zones_route(_: MapReader, container: ContainerDep, region: Region) -> dict[str, Any]:
    """All zones of a region as a GeoJSON FeatureCollection."""
    async with container.engine.connect() as conn:
        found = await zones.list_zones(conn, region)
    return {"type": "FeatureCollection", "features": [zones.zone_feature(z) for z in found]}


@router.get("/zones/at")
async def zones_at_route(
    _: MapReader, container: ContainerDep, lat: Lat, lon: Lon, region: Region
) -> dict[str, Any]:
    """The zones covering a point, smallest first."""
    async with container.engine.connect() as conn:
        found = await zones.zones_at(conn, region, lon, lat)
    return {"type": "FeatureCollection", "features": [zones.zone_feature(z) for z in found]}


@router.delete("/zones/{zone_id}", status_code=204)
async def delete_zone_route(
    principal: ZoneEditor,
    container: ContainerDep,
    zone_id: Annotated[int, Path(ge=1)],
    region: Region,
    request: Request,
) -> Response:
    """Remove a zone."""
    async with container.engine.begin() as conn:
        await zones.delete_zone(conn, region, zone_id)
        await audit.record(
            conn,
            actor=principal.actor,
            action="zone.delete",
            object_type="gis_zone",
            object_id=str(zone_id),
            source=audit_source(request),
            result="ok",
            detail={"region": region},
        )
    return Response(status_code=204)


@router.get("/route")
async def route_route(
    _: MapReader,
    container: ContainerDep,
    region: Region,
    origin: Annotated[str, Query(alias="from", max_length=100, description="LAT,LON")],
    dest: Annotated[str, Query(alias="to", max_length=100, description="LAT,LON")],
) -> dict[str, Any]:
    """The fastest drive between two points: seconds, metres and a GeoJSON LineString."""
    start = _point(origin, "from")
    end = _point(dest, "to")
    async with container.engine.connect() as conn:
        found = await container.roads.route(conn, region, start, end)
    if found is None:
        raise NotFound(f"no road route from {origin} to {dest} in region {region!r}")
    return {
        "seconds": found.seconds,
        "metres": found.metres,
        "geometry": found.geometry,
    }


@router.get("/tiles/{z}/{x}/{y}.pbf")
async def tile_route(_: MapReader, container: ContainerDep, z: int, x: int, y: int) -> Response:
    """One vector tile of the basemap (empty body where there is no data)."""
    tiles.check_tile(z, x, y)
    async with container.engine.connect() as conn:
        data = await tiles.tile(conn, z, x, y)
    return Response(
        content=data,
        media_type=TILE_MEDIA_TYPE,
        headers={"Cache-Control": "private, max-age=300"},
    )


@router.get("/style.json")
async def style_route(_: MapReader) -> dict[str, Any]:
    """The MapLibre style of the offline basemap."""
    return tiles.style()
