"""Choosing the jurisdiction level, and repairing administrative areas that cross themselves."""

from __future__ import annotations

from shapely.geometry import MultiPolygon, Point, Polygon, box

from gis.osm_import import _multi, _valid_admin, choose_jurisdiction_level
from gis.osm_import_parse import AdminArea


def test_finest_level_that_covers_the_points() -> None:
    country = AdminArea(1, 2, "Land", {}, box(0, 0, 10, 10))
    towns = [AdminArea(10 + i, 8, f"Town {i}", {}, box(i * 5, 0, i * 5 + 5, 10)) for i in range(2)]
    district = AdminArea(20, 10, "Quarter", {}, box(0, 0, 1, 1))  # covers a few points only
    points = [Point(x + 0.5, y + 0.5) for x in range(10) for y in range(10)]
    assert choose_jurisdiction_level([country, *towns, district], points) == 8
    assert choose_jurisdiction_level([], points) is None


def test_a_self_crossing_area_is_repaired_not_dropped() -> None:
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])
    assert not bowtie.is_valid
    repaired = _multi(bowtie)
    assert isinstance(repaired, MultiPolygon)
    assert repaired.is_valid
    assert repaired.area > 0
    areas = _valid_admin([AdminArea(1, 8, "Bowtie", {}, bowtie)])
    assert len(areas) == 1
    assert areas[0].geom.is_valid
