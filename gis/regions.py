"""Imported regions: what a console needs to open its map."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.errors import RegionNotFoundError
from gis.tables import regions


@dataclass(frozen=True)
class RegionInfo:
    name: str
    srid_metric: int
    bbox: tuple[float, float, float, float]  # west, south, east, north (WGS84)
    imported_at: datetime


def _select() -> sa.Select[tuple[object, ...]]:
    return sa.select(
        regions.c.name,
        regions.c.srid_metric,
        regions.c.imported_at,
        sa.func.ST_XMin(regions.c.bbox).label("west"),
        sa.func.ST_YMin(regions.c.bbox).label("south"),
        sa.func.ST_XMax(regions.c.bbox).label("east"),
        sa.func.ST_YMax(regions.c.bbox).label("north"),
    )


def _info(row: sa.Row[tuple[object, ...]]) -> RegionInfo:
    return RegionInfo(
        name=row.name,
        srid_metric=row.srid_metric,
        bbox=(row.west, row.south, row.east, row.north),
        imported_at=row.imported_at,
    )


async def region_info(conn: AsyncConnection, name: str) -> RegionInfo:
    row = (await conn.execute(_select().where(regions.c.name == name))).first()
    if row is None:
        raise RegionNotFoundError(f"region {name!r} has not been imported", region=name)
    return _info(row)


async def list_regions(conn: AsyncConnection) -> list[RegionInfo]:
    """Every imported region, by name (a user who covers them all opens the map on all)."""
    return [_info(r) for r in await conn.execute(_select().order_by(regions.c.name))]
