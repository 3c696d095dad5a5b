"""The map use cases over one database: geocoding and type-ahead, what is at a point, the
region's zones (changes audited), a route between two points, and the basemap's vector tiles.

Built once by the bootstrap with the process's geocoder (it owns the region indexes) and its
road routing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import audit
from command.errors import InvalidInput, NotFound
from command.origin import Origin
from gis import reverse as gis_reverse
from gis import tiles, zones
from gis.coordtext import parse_coordinates
from gis.geocode.model import Candidate, Suggestion
from gis.geocode.service import Geocoder
from gis.regions import RegionInfo, list_regions, region_info
from gis.reverse import Jurisdiction, ReverseResult
from gis.routing_sql import Route

RouteFn = Callable[
    [AsyncConnection, str, tuple[float, float], tuple[float, float]], Awaitable[Route | None]
]


def point_from_text(text: str, which: str) -> tuple[float, float]:
    """``(lon, lat)`` from ``LAT,LON`` text (any form :func:`parse_coordinates` reads)."""
    parsed = parse_coordinates(text)
    if parsed is None:
        raise InvalidInput(
            f"{which}={text!r} is not a coordinate pair; give it as LAT,LON",
            code="point.not_coordinates",
            field=which,
            text=text,
        )
    lat, lon = parsed
    return lon, lat


class Maps:
    """The map use cases, built once by the bootstrap."""

    def __init__(self, engine: AsyncEngine, geocoder: Geocoder, route: RouteFn) -> None:
        self.engine = engine
        self.geocoder = geocoder
        self._route = route

    async def geocode(
        self, region: str, query: str, limit: int, near: tuple[float, float] | None
    ) -> list[Candidate]:
        return await self.geocoder.geocode(region, query, limit=limit, near=near)

    async def typeahead(self, region: str, text: str, limit: int) -> list[Suggestion]:
        return await self.geocoder.typeahead(region, text, limit=limit)

    async def region(self, name: str) -> RegionInfo:
        async with self.engine.connect() as conn:
            return await region_info(conn, name)

    async def regions(self) -> list[RegionInfo]:
        async with self.engine.connect() as conn:
            return await list_regions(conn)

    async def reverse(self, region: str, lon: float, lat: float) -> ReverseResult:
        async with self.engine.connect() as conn:
            return await gis_reverse.reverse(conn, region, lon, lat)

    async def jurisdiction(self, region: str, lon: float, lat: float) -> Jurisdiction:
        async with self.engine.connect() as conn:
            found = await gis_reverse.jurisdiction_at(conn, region, lon, lat)
        if found is None:
            raise NotFound(
                f"no jurisdiction of region {region!r} covers {lat}, {lon}",
                code="gis.no_jurisdiction",
                region=region,
                lat=lat,
                lon=lon,
            )
        return found

    async def create_zone(
        self, region: str, name: str, kind: str, geometry: dict[str, Any], origin: Origin
    ) -> zones.Zone:
        """Store a zone; a self-crossing or out-of-range polygon is refused, nothing written."""
        async with self.engine.begin() as conn:
            zone = await zones.create_zone(conn, region, name, kind, geometry)
            await audit.record(
                conn,
                actor=origin.actor,
                action="zone.create",
                object_type="gis_zone",
                object_id=str(zone.id),
                source=origin.source,
                result="ok",
                detail={"region": zone.region, "name": zone.name, "kind": zone.kind},
            )
        return zone

    async def list_zones(self, region: str) -> list[zones.Zone]:
        async with self.engine.connect() as conn:
            return await zones.list_zones(conn, region)

    async def zones_at(self, region: str, lon: float, lat: float) -> list[zones.Zone]:
        async with self.engine.connect() as conn:
            return await zones.zones_at(conn, region, lon, lat)

    async def delete_zone(self, region: str, zone_id: int, origin: Origin) -> None:
        async with self.engine.begin() as conn:
            await zones.delete_zone(conn, region, zone_id)
            await audit.record(
                conn,
                actor=origin.actor,
                action="zone.delete",
                object_type="gis_zone",
                object_id=str(zone_id),
                source=origin.source,
                result="ok",
                detail={"region": region},
            )

    async def route(self, region: str, origin: str, dest: str) -> Route:
        """The fastest drive between two ``LAT,LON`` points."""
        start = point_from_text(origin, "from")
        end = point_from_text(dest, "to")
        async with self.engine.connect() as conn:
            found = await self._route(conn, region, start, end)
        if found is None:
            raise NotFound(
                f"no road route from {origin} to {dest} in region {region!r}",
                code="route.none",
                region=region,
                origin=origin,
                dest=dest,
            )
        return found

    async def tile(self, z: int, x: int, y: int) -> bytes:
        tiles.check_tile(z, x, y)
        async with self.engine.connect() as conn:
            return await tiles.tile(conn, z, x, y)
