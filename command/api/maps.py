"""The map over HTTP: geocoding and type-ahead, what is at a point, regions, zones, routes, and
the offline basemap (vector tiles from PostGIS and their MapLibre style).

An empty or overlong ``q`` is a 422 saying so; a region never imported is 404; coordinates out
of range, a self-crossing zone or a tile outside the pyramid are 422, and nothing is written.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from command.api.deps import ContainerDep, origin_of, require_roles
from command.api.schemas.gis import (
    CandidateOut,
    GeocodeOut,
    JurisdictionOut,
    RegionList,
    RegionOut,
    ReverseOut,
    RouteOut,
    SuggestionOut,
    TypeaheadOut,
    ZoneCollection,
    ZoneFeature,
    ZoneIn,
)
from command.auth.roles import Role
from command.auth.service import Principal
from command.errors import InvalidInput
from gis import tiles
from gis.geocode.model import MAX_QUERY_CHARS
from gis.geocode.service import MAX_LIMIT
from gis.regions import RegionInfo

router = APIRouter(prefix="/api/v1/gis", tags=["gis"])

R = Role
Searcher = Annotated[
    Principal,
    Depends(require_roles(R.CALL_TAKER, R.DISPATCHER, R.SUPERVISOR, R.ADMIN, R.LEADER)),
]
MapReader = Annotated[
    Principal,
    Depends(
        require_roles(R.CALL_TAKER, R.DISPATCHER, R.LEADER, R.SUPERVISOR, R.ADMIN, R.FIELD_UNIT)
    ),
]
ZoneEditor = Annotated[Principal, Depends(require_roles(R.SUPERVISOR, R.ADMIN, R.LEADER))]

# Generous bounds here; the geocoder itself says precisely what is wrong with the text.
QueryText = Annotated[
    str,
    Query(description="what was typed: an address, a landmark or coordinates", max_length=20_000),
]
Region = Annotated[
    str, Query(min_length=1, max_length=63, description="an imported region, e.g. liechtenstein")
]
Lat = Annotated[float, Query(description="latitude, WGS84 degrees")]
Lon = Annotated[float, Query(description="longitude, WGS84 degrees")]

TILE_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


# ---------------------------------------------------------------------- addresses


@router.get("/geocode")
async def geocode_route(
    _: Searcher,
    c: ContainerDep,
    q: QueryText,
    region: Region,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 5,
    near_lat: Annotated[float | None, Query(description="favour candidates near here")] = None,
    near_lon: Annotated[float | None, Query(description="favour candidates near here")] = None,
) -> GeocodeOut:
    """Ranked candidates for an address, intersection, landmark or coordinates."""
    if (near_lat is None) != (near_lon is None):
        raise InvalidInput("give both near_lat and near_lon, or neither", code="geocode.near_half")
    near = (near_lat, near_lon) if near_lat is not None and near_lon is not None else None
    candidates = await c.maps.geocode(region, q, limit, near)
    return GeocodeOut(
        query=q[:MAX_QUERY_CHARS],
        region=region,
        candidates=[CandidateOut.model_validate(x.as_dict()) for x in candidates],
    )


@router.get("/typeahead")
async def typeahead_route(
    _: Searcher,
    c: ContainerDep,
    q: QueryText,
    region: Region,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
) -> TypeaheadOut:
    """Completions (streets, addresses, landmarks) for the text typed so far."""
    suggestions = await c.maps.typeahead(region, q, limit)
    return TypeaheadOut(
        query=q,
        region=region,
        suggestions=[SuggestionOut.model_validate(s) for s in suggestions],
    )


def _region(info: RegionInfo) -> RegionOut:
    return RegionOut(
        name=info.name,
        bbox=list(info.bbox),
        srid_metric=info.srid_metric,
        imported_at=info.imported_at,
    )


@router.get("/regions")
async def regions_route(_: MapReader, c: ContainerDep) -> RegionList:
    """Every imported region, by name: the map of a user who covers no one region opens on
    all of them."""
    return RegionList(regions=[_region(r) for r in await c.maps.regions()])


@router.get("/regions/{name}")
async def region_route(_: Searcher, c: ContainerDep, name: str) -> RegionOut:
    """An imported region: its bounds (for opening a map) and metric projection."""
    return _region(await c.maps.region(name))


@router.get("/reverse")
async def reverse_route(
    _: MapReader, c: ContainerDep, lat: Lat, lon: Lon, region: Region
) -> ReverseOut:
    """What is at a point: address, intersection, or street with an estimated number."""
    return ReverseOut.model_validate(await c.maps.reverse(region, lon, lat))


@router.get("/jurisdiction")
async def jurisdiction_route(
    _: MapReader, c: ContainerDep, lat: Lat, lon: Lon, region: Region
) -> JurisdictionOut:
    """The jurisdiction (municipality) covering a point; 404 outside all of them."""
    return JurisdictionOut.model_validate(await c.maps.jurisdiction(region, lon, lat))


# ---------------------------------------------------------------------- zones


@router.post("/zones", status_code=201)
async def create_zone_route(
    principal: ZoneEditor, c: ContainerDep, body: ZoneIn, request: Request
) -> ZoneFeature:
    """Store a zone; a self-crossing or out-of-range polygon is refused and nothing is written."""
    zone = await c.maps.create_zone(
        body.region, body.name, body.kind, body.geometry, origin_of(request, principal)
    )
    return ZoneFeature.of(zone)


@router.get("/zones")
async def list_zones_route(_: MapReader, c: ContainerDep, region: Region) -> ZoneCollection:
    """All zones of a region as a GeoJSON FeatureCollection."""
    return ZoneCollection(features=[ZoneFeature.of(z) for z in await c.maps.list_zones(region)])


@router.get("/zones/at")
async def zones_at_route(
    _: MapReader, c: ContainerDep, lat: Lat, lon: Lon, region: Region
) -> ZoneCollection:
    """The zones covering a point, smallest first."""
    found = await c.maps.zones_at(region, lon, lat)
    return ZoneCollection(features=[ZoneFeature.of(z) for z in found])


@router.delete("/zones/{zone_id}", status_code=204)
async def delete_zone_route(
    principal: ZoneEditor,
    c: ContainerDep,
    zone_id: Annotated[int, Path(ge=1)],
    region: Region,
    request: Request,
) -> None:
    """Remove a zone."""
    await c.maps.delete_zone(region, zone_id, origin_of(request, principal))


# ---------------------------------------------------------------------- routes, basemap


@router.get("/route")
async def route_route(
    _: MapReader,
    c: ContainerDep,
    region: Region,
    origin: Annotated[str, Query(alias="from", max_length=100, description="LAT,LON")],
    dest: Annotated[str, Query(alias="to", max_length=100, description="LAT,LON")],
) -> RouteOut:
    """The fastest drive between two points: seconds, metres and a GeoJSON LineString."""
    found = await c.maps.route(region, origin, dest)
    return RouteOut(seconds=found.seconds, metres=found.metres, geometry=found.geometry)


@router.get(
    "/tiles/{z}/{x}/{y}.pbf",
    response_class=Response,
    responses={200: {"content": {TILE_MEDIA_TYPE: {}}, "description": "a Mapbox vector tile"}},
)
async def tile_route(_: MapReader, c: ContainerDep, z: int, x: int, y: int) -> Response:
    """One vector tile of the basemap (empty body where there is no data)."""
    return Response(
        content=await c.maps.tile(z, x, y),
        media_type=TILE_MEDIA_TYPE,
        headers={"Cache-Control": "private, max-age=300"},
    )


@router.get("/style.json")
async def style_route(_: MapReader) -> dict[str, Any]:
    """The MapLibre style of the offline basemap (a MapLibre style document, as MapLibre
    defines it)."""
    return tiles.style()
