"""Zone GeoJSON validation and the Voronoi grouping of first-due areas (pure parts)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from shapely.geometry import MultiPolygon, box

from gis.errors import InvalidCoordinates, InvalidGeometry
from gis.zones import areas_from_sites, parse_zone_geometry

NOT_A_POSITION: Any = "x"
SQUARE = [[9.50, 47.10], [9.52, 47.10], [9.52, 47.12], [9.50, 47.12], [9.50, 47.10]]
BOWTIE = [[9.50, 47.10], [9.52, 47.12], [9.52, 47.10], [9.50, 47.12], [9.50, 47.10]]


def polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def test_polygon_becomes_a_multipolygon() -> None:
    geom = parse_zone_geometry(polygon(SQUARE))
    assert isinstance(geom, MultiPolygon)
    assert geom.area == pytest.approx(0.02 * 0.02)


def test_feature_collection_and_text_forms() -> None:
    feature = {"type": "Feature", "properties": {}, "geometry": polygon(SQUARE)}
    collection = {"type": "FeatureCollection", "features": [feature]}
    for data in (feature, collection, json.dumps(collection)):
        assert parse_zone_geometry(data).area == pytest.approx(0.0004)


def test_multipolygon_with_a_hole() -> None:
    hole = [[9.505, 47.105], [9.505, 47.115], [9.515, 47.115], [9.515, 47.105], [9.505, 47.105]]
    geom = parse_zone_geometry({"type": "MultiPolygon", "coordinates": [[SQUARE, hole]]})
    assert geom.area == pytest.approx(0.0004 - 0.0001)


def test_self_crossing_polygon_names_the_problem() -> None:
    with pytest.raises(
        InvalidGeometry, match=r"not valid: Self-intersection at or near point 9\.51"
    ):
        parse_zone_geometry(polygon(BOWTIE))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a GeoJSON object"),
        ({"type": "Point", "coordinates": [9.5, 47.1]}, "Polygon or MultiPolygon, not 'Point'"),
        (polygon(SQUARE[:-1]), "not closed"),
        (polygon(SQUARE[:2] + SQUARE[:1]), "at least 4 positions"),
        (
            polygon([[9.5, 47.1], NOT_A_POSITION, [9.6, 47.2], [9.5, 47.1]]),
            "is not \\[longitude, latitude\\]",
        ),
        (polygon([[9.5, 47.1], [9.5, True], [9.6, 47.2], [9.5, 47.1]]), "not \\[longitude"),
        ({"type": "Polygon"}, "coordinates must be a list"),
        ({"type": "MultiPolygon", "coordinates": []}, "non-empty list"),
        ({"type": "Feature", "geometry": None}, "has no geometry"),
        ({"type": "FeatureCollection", "features": []}, "exactly one"),
        (polygon([[9.5, 47.1], [9.6, 47.1], [9.7, 47.1], [9.5, 47.1]]), "not valid|no area"),
    ],
)
def test_unusable_geojson(data: Any, message: str) -> None:
    with pytest.raises(InvalidGeometry, match=message):
        parse_zone_geometry(data)


def test_out_of_range_corner() -> None:
    with pytest.raises(InvalidCoordinates, match="latitude 95 is outside"):
        parse_zone_geometry(polygon([[9.5, 47.1], [9.6, 95.0], [9.7, 47.1], [9.5, 47.1]]))


def test_too_many_positions() -> None:
    ring = [[9.5 + k * 1e-6, 47.1 + (k % 2) * 1e-6] for k in range(20_001)]
    ring.append(ring[0])
    with pytest.raises(InvalidGeometry, match="at most 20000"):
        parse_zone_geometry(polygon(ring))


def test_voronoi_cells_group_by_owner_and_fill_the_outline() -> None:
    outline = box(0.0, 0.0, 4.0, 2.0)
    # Two stations: the left sites belong to 0, the right ones to 1.
    sites = [(0.5, 0.5), (0.5, 1.5), (1.5, 1.0), (2.5, 1.0), (3.5, 0.5), (3.5, 1.5)]
    owner = [0, 0, 0, 1, 1, 1]
    left, right = areas_from_sites(sites, owner, 2, outline)
    assert left is not None
    assert right is not None
    assert left.area + right.area == pytest.approx(outline.area)
    assert left.intersection(right).area == pytest.approx(0.0)
    # The border lies halfway between (1.5, 1) and (2.5, 1).
    assert left.bounds[2] == pytest.approx(2.0)
    assert right.bounds[0] == pytest.approx(2.0)


def test_station_owning_nothing_gets_none() -> None:
    areas = areas_from_sites([(0.0, 0.0), (1.0, 0.0)], [0, 0], 3, box(-1, -1, 2, 1))
    assert areas[0] is not None
    assert areas[1] is None
    assert areas[2] is None
    assert areas_from_sites([], [], 2, None) == [None, None]
