"""GIS over HTTP: forward geocoding and type-ahead for the consoles.

``GET /api/v1/gis/geocode?q=&region=&limit=[&near_lat=&near_lon=]`` answers ranked candidates
(address, interpolated address, street, intersection, landmark, coordinates) with a label, score,
jurisdiction and a short explanation; ``near_*`` favours candidates close to a known point.
``GET /api/v1/gis/typeahead?q=&region=`` answers completions for what has been typed so far.
``GET /api/v1/gis/regions/NAME`` gives a region's bounds, for opening a map on it.
An empty or overlong ``q`` is a 422 saying so; a region never imported is 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from command.api.deps import ContainerDep, require_roles
from command.auth.roles import Role
from command.auth.service import Principal
from command.errors import InvalidInput
from gis.geocode.model import MAX_QUERY_CHARS
from gis.geocode.service import MAX_LIMIT, geocode, typeahead
from gis.regions import region_info

router = APIRouter(prefix="/api/v1/gis", tags=["gis"])

R = Role
Geocoder = Annotated[
    Principal,
    Depends(require_roles(R.CALL_TAKER, R.DISPATCHER, R.SUPERVISOR, R.ADMIN, R.LEADER)),
]

# Generous bounds here; the geocoder itself says precisely what is wrong with the text.
QueryText = Annotated[
    str,
    Query(description="what was typed: an address, a landmark or coordinates", max_length=20_000),
]
Region = Annotated[
    str, Query(min_length=1, max_length=63, description="an imported region, e.g. liechtenstein")
]


@router.get("/geocode")
async def geocode_route(
    _: Geocoder,
    container: ContainerDep,
    q: QueryText,
    region: Region,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 5,
    near_lat: Annotated[float | None, Query(description="favour candidates near here")] = None,
    near_lon: Annotated[float | None, Query(description="favour candidates near here")] = None,
) -> dict[str, Any]:
    """Ranked candidates for an address, intersection, landmark or coordinates."""
    if (near_lat is None) != (near_lon is None):
        raise InvalidInput("give both near_lat and near_lon, or neither")
    near = (near_lat, near_lon) if near_lat is not None and near_lon is not None else None
    candidates = await geocode(container.engine, region, q, limit=limit, near=near)
    return {
        "query": q if len(q) <= MAX_QUERY_CHARS else q[:MAX_QUERY_CHARS],
        "region": region,
        "candidates": [c.as_dict() for c in candidates],
    }


@router.get("/typeahead")
async def typeahead_route(
    _: Geocoder,
    container: ContainerDep,
    q: QueryText,
    region: Region,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
) -> dict[str, Any]:
    """Completions (streets, addresses, landmarks) for the text typed so far."""
    suggestions = await typeahead(container.engine, region, q, limit=limit)
    return {"query": q, "region": region, "suggestions": [s.as_dict() for s in suggestions]}


@router.get("/regions/{name}")
async def region_route(_: Geocoder, container: ContainerDep, name: str) -> dict[str, Any]:
    """An imported region: its bounds (for opening a map) and metric projection."""
    async with container.engine.connect() as conn:
        info = await region_info(conn, name)
    return {
        "name": info.name,
        "bbox": list(info.bbox),
        "srid_metric": info.srid_metric,
        "imported_at": info.imported_at,
    }
