"""Forward geocoding and type-ahead: the functions the application calls.

``await geocode(engine, region, "Feldstrasse 34, Triesen")`` → ranked
:class:`~gis.geocode.model.Candidate` s. Coordinates typed as text are answered directly;
everything else is searched in the region's in-memory index (:mod:`gis.geocode.store`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from gis.coords import check_lon_lat
from gis.coordtext import parse_coordinates
from gis.errors import InvalidQueryError
from gis.geocode.index import RegionIndex
from gis.geocode.model import Candidate, Suggestion
from gis.geocode.query import check_query, parse_query
from gis.geocode.search import search, suggest
from gis.geocode.store import cache_for

MAX_LIMIT = 50


def _check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidQueryError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return limit


def _check_near(near: tuple[float, float] | None) -> tuple[float, float] | None:
    if near is None:
        return None
    lat, lon = near
    check_lon_lat(lon, lat)
    return float(lat), float(lon)


def geocode_in(
    index: RegionIndex, query: str, limit: int = 5, near: tuple[float, float] | None = None
) -> list[Candidate]:
    """Candidates for ``query`` in a loaded region index, best first (pure).

    ``near`` is an optional (lat, lon) that breaks ties towards what lies close to it.
    """
    text = check_query(query)
    _check_limit(limit)
    near = _check_near(near)
    coords = parse_coordinates(text)
    if coords is not None:
        lat, lon = coords
        return [
            Candidate(
                lat=lat,
                lon=lon,
                label=f"{lat:.6f}, {lon:.6f}",
                score=1.0,
                kind="coordinates",
                jurisdiction=index.jurisdiction_at(lon, lat),
                explanation="coordinates read from the text",
                reason="coordinates",
            )
        ]
    return search(index, parse_query(text), limit, near)


def suggest_in(index: RegionIndex, text: str, limit: int = 10) -> list[Suggestion]:
    """Type-ahead suggestions in a loaded region index (pure)."""
    checked = check_query(text)
    _check_limit(limit)
    return suggest(index, checked, limit)


async def geocode(
    engine: AsyncEngine,
    region: str,
    query: str,
    limit: int = 5,
    near: tuple[float, float] | None = None,
) -> list[Candidate]:
    """Ranked candidates for an address, landmark, intersection or coordinates in ``region``.

    ``near`` (lat, lon), when known (the caller's cell, the console's district), favours close
    candidates among equals. Raises :class:`~gis.errors.InvalidQueryError` for an empty or
    overlong query, :class:`~gis.errors.InvalidCoordinates` for a ``near`` out of range and
    :class:`~gis.errors.RegionNotFoundError` for a region never imported.
    """
    check_query(query)
    _check_limit(limit)
    _check_near(near)
    index = await cache_for(engine).get(engine, region)
    return geocode_in(index, query, limit, near)


async def typeahead(
    engine: AsyncEngine, region: str, text: str, limit: int = 10
) -> list[Suggestion]:
    """Completions for what has been typed so far (fast enough for every keystroke)."""
    check_query(text)
    _check_limit(limit)
    index = await cache_for(engine).get(engine, region)
    return suggest(index, text, limit)


async def region_index(engine: AsyncEngine, region: str) -> RegionIndex:
    """The loaded (cached) index of ``region``."""
    return await cache_for(engine).get(engine, region)
