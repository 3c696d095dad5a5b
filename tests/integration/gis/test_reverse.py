"""Reverse geocoding and jurisdictions on the imported Liechtenstein extract.

Expected answers are taken from the imported data itself (an address point, two numbered
neighbours on one street, the crossing of two streets), so the tests check the method, not a
memorised list.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gis import coords
from gis.errors import InvalidCoordinates, RegionNotFoundError
from gis.reverse import jurisdiction_at, leading_number, reverse

REGION = "liechtenstein"
VADUZ_TOWN_HALL = (9.5215, 47.1397)
SCHAAN_CENTRE = (9.5093, 47.1661)
ZURICH = (8.5417, 47.3769)


async def test_at_an_address_point_answers_that_address(liechtenstein: AsyncEngine) -> None:
    async with liechtenstein.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT a.street, a.housenumber, ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat,"
                    " j.name AS municipality"
                    " FROM gis_addresses a JOIN gis_jurisdictions j ON j.id = a.jurisdiction_id"
                    " WHERE a.region = :r AND a.street IS NOT NULL"
                    "  AND NOT EXISTS (SELECT 1 FROM gis_addresses b WHERE b.region = a.region"
                    "   AND b.id <> a.id AND ST_DWithin(a.geom::geography, b.geom::geography, 3))"
                    " ORDER BY a.id LIMIT 25"
                ),
                {"r": REGION},
            )
        ).all()
        assert len(rows) == 25
        for row in rows:
            found = await reverse(conn, REGION, row.lon, row.lat)
            assert found.kind == "address", (row, found)
            assert (found.street, found.housenumber) == (row.street, row.housenumber)
            assert found.distance_m == pytest.approx(0.0, abs=0.01)
            assert found.estimated is False
            assert found.jurisdiction is not None
            assert found.jurisdiction.name == row.municipality
            assert found.label == f"{row.street} {row.housenumber}, {row.municipality}"


async def test_between_two_numbered_houses_estimates_a_number_between(
    liechtenstein: AsyncEngine,
) -> None:
    async with liechtenstein.connect() as conn:
        # Pairs of addresses on one street, same parity, numbers 4..10 apart, 40..150 m apart,
        # with no other address of that street near their midpoint.
        pairs = (
            await conn.execute(
                text(
                    """
                    SELECT a.street_id, a.housenumber AS n1, b.housenumber AS n2,
                           ST_X(m) AS lon, ST_Y(m) AS lat
                    FROM gis_addresses a
                    JOIN gis_addresses b
                      ON b.street_id = a.street_id AND b.id <> a.id
                     AND b.housenumber ~ '^[0-9]+$' AND a.housenumber ~ '^[0-9]+$'
                     AND b.housenumber::int - a.housenumber::int BETWEEN 4 AND 10
                     AND (b.housenumber::int - a.housenumber::int) % 2 = 0
                     AND ST_DWithin(a.geom::geography, b.geom::geography, 150)
                     AND NOT ST_DWithin(a.geom::geography, b.geom::geography, 40)
                    CROSS JOIN LATERAL (SELECT ST_LineInterpolatePoint(
                        ST_MakeLine(a.geom, b.geom), 0.5) AS m) mid
                    WHERE a.region = :r
                      AND NOT EXISTS (
                          SELECT 1 FROM gis_addresses c
                          WHERE c.region = a.region AND ST_DWithin(c.geom::geography,
                                                                   m::geography, 30))
                    ORDER BY a.id, b.id
                    LIMIT 12
                    """
                ),
                {"r": REGION},
            )
        ).all()
        assert len(pairs) >= 5
        within = 0
        for pair in pairs:
            found = await reverse(conn, REGION, pair.lon, pair.lat)
            if found.kind != "street" or found.housenumber is None:
                continue
            low, high = sorted((int(pair.n1), int(pair.n2)))
            number = leading_number(found.housenumber)
            assert number is not None
            assert found.estimated is True
            assert found.side in ("left", "right")
            assert "~" in found.label
            if low <= number <= high:
                within += 1
        # The midpoint between two houses can sit nearer another street, or on the far side of
        # a bend; most must land between their neighbours.
        assert within >= len(pairs) // 2, within


async def test_at_a_crossing_answers_the_two_streets(liechtenstein: AsyncEngine) -> None:
    async with liechtenstein.connect() as conn:
        crossing = (
            await conn.execute(
                text(
                    """
                    SELECT a.name AS a, b.name AS b, ST_X(p) AS lon, ST_Y(p) AS lat
                    FROM gis_streets a
                    JOIN gis_streets b ON a.region = b.region AND a.norm < b.norm
                     AND ST_Intersects(a.geom, b.geom)
                    CROSS JOIN LATERAL (
                        SELECT (ST_Dump(ST_Intersection(a.geom, b.geom))).geom AS p) x
                    WHERE a.region = :r AND GeometryType(p) = 'POINT'
                      AND NOT EXISTS (
                          SELECT 1 FROM gis_streets o
                          WHERE o.region = a.region AND o.id NOT IN (a.id, b.id)
                            AND ST_DWithin(o.geom, p, 0.0007))
                      AND NOT EXISTS (
                          SELECT 1 FROM gis_addresses c
                          WHERE c.region = a.region
                            AND ST_DWithin(c.geom, p, 0.0005))
                    ORDER BY a.id, b.id
                    LIMIT 5
                    """
                ),
                {"r": REGION},
            )
        ).all()
        assert crossing
        for row in crossing:
            near = coords.destination(row.lon, row.lat, 45.0, 5.0)
            found = await reverse(conn, REGION, *near)
            assert found.kind == "intersection", (row, found)
            assert {found.street, found.cross_street} == {row.a, row.b}
            assert found.distance_m == pytest.approx(5.0, abs=1.0)
            assert f"{found.street} / {found.cross_street}" in found.label


async def test_beside_a_street_without_numbers_names_the_street(
    liechtenstein: AsyncEngine,
) -> None:
    async with liechtenstein.connect() as conn:
        row = (
            await conn.execute(
                text(
                    """
                    SELECT s.name, ST_X(p) AS lon, ST_Y(p) AS lat
                    FROM gis_streets s
                    CROSS JOIN LATERAL (
                        SELECT ST_LineInterpolatePoint(ST_GeometryN(s.geom, 1), 0.5) AS p) x
                    WHERE s.region = :r
                      AND NOT EXISTS (SELECT 1 FROM gis_addresses a WHERE a.street_id = s.id)
                      AND NOT EXISTS (SELECT 1 FROM gis_addresses a WHERE a.region = s.region
                          AND ST_DWithin(a.geom, p, 0.0008))
                      AND NOT EXISTS (SELECT 1 FROM gis_streets o WHERE o.region = s.region
                          AND o.id <> s.id AND ST_DWithin(o.geom, p, 0.0006))
                    ORDER BY s.id LIMIT 1
                    """
                ),
                {"r": REGION},
            )
        ).one()
        found = await reverse(conn, REGION, row.lon, row.lat)
    assert found.kind == "street"
    assert found.street == row.name
    assert found.housenumber is None
    assert found.estimated is False
    assert found.distance_m == pytest.approx(0.0, abs=0.5)


async def test_jurisdictions(liechtenstein: AsyncEngine) -> None:
    async with liechtenstein.connect() as conn:
        vaduz = await jurisdiction_at(conn, REGION, *VADUZ_TOWN_HALL)
        schaan = await jurisdiction_at(conn, REGION, *SCHAAN_CENTRE)
        abroad = await jurisdiction_at(conn, REGION, *ZURICH)
        far = await reverse(conn, REGION, *ZURICH)
    assert vaduz is not None
    assert vaduz.name == "Vaduz"
    assert schaan is not None
    assert schaan.name == "Schaan"
    assert abroad is None
    assert far.kind == "none"
    assert far.jurisdiction is None
    assert far.distance_m is None


async def test_bad_input(liechtenstein: AsyncEngine) -> None:
    async with liechtenstein.connect() as conn:
        with pytest.raises(InvalidCoordinates, match="latitude 95 is outside"):
            await reverse(conn, REGION, 9.5, 95.0)
        with pytest.raises(InvalidCoordinates, match="longitude 200 is outside"):
            await jurisdiction_at(conn, REGION, 200.0, 47.0)
        with pytest.raises(RegionNotFoundError, match="atlantis"):
            await reverse(conn, "atlantis", 9.5, 47.1)
        with pytest.raises(RegionNotFoundError, match="atlantis"):
            await jurisdiction_at(conn, "atlantis", 9.5, 47.1)
