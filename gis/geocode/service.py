"""Forward geocoding and type-ahead: what the application calls.

``await Geocoder(engine).geocode(region, "Feldstrasse 34, Triesen")`` → ranked
:class:`~gis.geocode.model.Candidate` s. Coordinates typed as text are answered directly;
everything else is searched in the region's in-memory index (:mod:`gis.geocode.store`), which
the geocoder loads once and reloads after the region is re-imported.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from gis.cn_divisions import Divisions
from gis.coords import check_lon_lat
from gis.coordtext import parse_coordinates
from gis.errors import InvalidQueryError
from gis.geocode.index import RegionIndex
from gis.geocode.model import Candidate, Suggestion
from gis.geocode.query import check_query, parse_query
from gis.geocode.search import search, suggest
from gis.geocode.store import IndexCache

MAX_LIMIT = 50


def _check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidQueryError(
            f"limit must be a whole number from 1 to {MAX_LIMIT}",
            code="geocode.limit_range",
            min=1,
            max=MAX_LIMIT,
        )
    return limit


def _check_near(near: tuple[float, float] | None) -> tuple[float, float] | None:
    if near is None:
        return None
    lat, lon = near
    check_lon_lat(lon, lat)
    return float(lat), float(lon)


def geocode_in(
    index: RegionIndex,
    query: str,
    limit: int = 5,
    near: tuple[float, float] | None = None,
    divisions: Divisions | None = None,
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
    return search(index, parse_query(text, divisions), limit, near, divisions)


def suggest_in(index: RegionIndex, text: str, limit: int = 10) -> list[Suggestion]:
    """Type-ahead suggestions in a loaded region index (pure)."""
    checked = check_query(text)
    _check_limit(limit)
    return suggest(index, checked, limit)


class Geocoder:
    """Geocoding over one database; built once per process, it owns the region indexes."""

    def __init__(
        self,
        engine: AsyncEngine,
        cache: IndexCache | None = None,
        divisions: Divisions | None = None,
    ) -> None:
        self.engine = engine
        self.cache = cache or IndexCache()
        self.divisions = divisions

    def region_imported(self, region: str) -> None:
        """Forget ``region``'s index (it was re-imported in this process)."""
        self.cache.region_imported(region)

    async def index(self, region: str) -> RegionIndex:
        """The loaded index of ``region`` (loaded now if missing or outdated)."""
        return await self.cache.get(self.engine, region)

    async def geocode(
        self,
        region: str,
        query: str,
        limit: int = 5,
        near: tuple[float, float] | None = None,
    ) -> list[Candidate]:
        """Ranked candidates for an address, landmark, intersection or coordinates.

        ``near`` (lat, lon), when known (the caller's cell, the console's district), favours
        close candidates among equals. Raises :class:`~gis.errors.InvalidQueryError` for an
        empty or overlong query, :class:`~gis.errors.InvalidCoordinates` for a ``near`` out of
        range and :class:`~gis.errors.RegionNotFoundError` for a region never imported.
        """
        check_query(query)
        _check_limit(limit)
        _check_near(near)
        return geocode_in(await self.index(region), query, limit, near, self.divisions)

    async def typeahead(self, region: str, text: str, limit: int = 10) -> list[Suggestion]:
        """Completions for what has been typed so far (fast enough for every keystroke)."""
        check_query(text)
        _check_limit(limit)
        return suggest(await self.index(region), text, limit)
