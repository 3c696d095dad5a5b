"""The geocoding baseline: what a team without our geocoder would build on PostGIS.

The house number is read off the query with a regular expression and the rest taken as the
street (a part after a comma as the town); the address is the one of that number whose street
is the most similar by trigrams (pg_trgm ``similarity`` on ``lower(unaccent(...))``), else a
landmark whose name is the most similar to the whole query, else the most similar street's
middle. One SQL statement per query, in the same database and region as our geocoder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_NUMBER = re.compile(r"(?:^|\s)(\d+\s?[a-zA-Z]?)(?=\s|,|$)")

_SQL = text(
    """
    WITH q AS (SELECT lower(unaccent(CAST(:street AS text))) AS street,
                      lower(unaccent(CAST(:whole AS text))) AS whole)
    SELECT * FROM (
        (SELECT ST_Y(a.geom) AS lat, ST_X(a.geom) AS lon,
                coalesce(a.street, a.place, '') || ' ' || a.housenumber AS label,
                similarity(lower(unaccent(coalesce(a.street, a.place, ''))), q.street) AS score,
                'address' AS kind
         FROM gis_addresses a, q
         WHERE a.region = :region AND CAST(:number AS text) IS NOT NULL
           AND lower(replace(a.housenumber, ' ', '')) = CAST(:number AS text)
         ORDER BY score DESC LIMIT 1)
        UNION ALL
        (SELECT ST_Y(p.geom), ST_X(p.geom), p.name,
                similarity(lower(unaccent(p.name)), q.whole) * 0.95, 'landmark'
         FROM gis_places p, q WHERE p.region = :region
         ORDER BY 4 DESC LIMIT 1)
        UNION ALL
        (SELECT ST_Y(ST_LineInterpolatePoint(ST_LineMerge(s.geom), 0.5)),
                ST_X(ST_LineInterpolatePoint(ST_LineMerge(s.geom), 0.5)), s.name,
                similarity(lower(unaccent(s.name)), q.street) * 0.9, 'street'
         FROM gis_streets s, q
         WHERE s.region = :region AND GeometryType(ST_LineMerge(s.geom)) = 'LINESTRING'
         ORDER BY 4 DESC LIMIT 1)
    ) found
    WHERE score > 0.2
    ORDER BY score DESC
    """
)


@dataclass(frozen=True, slots=True)
class Found:
    lat: float
    lon: float
    label: str
    score: float
    kind: str


def split(query: str) -> tuple[str, str | None]:
    """``(street, number)`` of a query: the first number-like token, the rest before a comma."""
    head = query.split(",", 1)[0]
    match = _NUMBER.search(head)
    if match is None:
        return head.strip(), None
    number = match.group(1).replace(" ", "").lower()
    street = (head[: match.start()] + " " + head[match.end() :]).strip()
    return " ".join(street.split()), number


class TrigramGeocoder:
    """The baseline, over one database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def geocode(self, region: str, query: str) -> list[Found]:
        street, number = split(query)
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                _SQL, {"region": region, "street": street, "whole": query, "number": number}
            )
            return [
                Found(float(r.lat), float(r.lon), r.label, float(r.score), r.kind) for r in rows
            ]
