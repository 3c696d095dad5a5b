"""Searching a small hand-made region: typos, abbreviations, interpolation, twins, intersections,
landmarks in other languages, coordinates and type-ahead (no database)."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, box

from gis.errors import InvalidCoordinates
from gis.geocode.index import AddressRow, JurisdictionRow, PlaceRow, RegionIndex, StreetRow
from gis.geocode.service import geocode_in, suggest_in

# Two towns side by side: Alpha (x 9.0..9.1) and Beta (x 9.1..9.2), latitude 47.0..47.1.
ALPHA = MultiPolygon([box(9.0, 47.0, 9.1, 47.1)])
BETA = MultiPolygon([box(9.1, 47.0, 9.2, 47.1)])


def _street(i: int, name: str, jid: int, coords: list[tuple[float, float]]) -> StreetRow:
    line = LineString(coords)
    mid = line.interpolate(0.5, normalized=True)
    return StreetRow(
        id=i,
        name=name,
        names={},
        norm="",
        jurisdiction_id=jid,
        wkb=shapely.to_wkb(MultiLineString([line])),
        lon=mid.x,
        lat=mid.y,
    )


def _address(i: int, street: str, number: str, jid: int, lon: float, lat: float) -> AddressRow:
    return AddressRow(
        id=i,
        street=street,
        place=None,
        housenumber=number,
        postcode=None,
        city=None,
        jurisdiction_id=jid,
        lon=lon,
        lat=lat,
    )


@pytest.fixture(scope="module")
def index() -> RegionIndex:
    streets = [
        _street(1, "Feldstrasse", 1, [(9.01, 47.05), (9.05, 47.05)]),
        _street(2, "Bahnhofstrasse", 1, [(9.03, 47.04), (9.03, 47.06)]),
        _street(3, "Feldstrasse", 2, [(9.15, 47.05), (9.19, 47.05)]),
        _street(4, "Sankt-Anna-Platz", 1, [(9.06, 47.07), (9.07, 47.07)]),
        _street(5, "Kurvenweg", 1, [(9.08, 47.02), (9.09, 47.02), (9.09, 47.03)]),
    ]
    addresses = [
        _address(1, "Feldstrasse", "2", 1, 9.010, 47.0501),
        _address(2, "Feldstrasse", "4", 1, 9.012, 47.0501),
        _address(3, "Feldstrasse", "12", 1, 9.020, 47.0501),
        _address(4, "Feldstrasse", "4", 2, 9.160, 47.0501),
        _address(5, "Bahnhofstrasse", "7a", 1, 9.0301, 47.045),
        _address(6, "Sankt-Anna-Platz", "1", 1, 9.065, 47.0701),
        _address(7, "Kurvenweg", "1", 1, 9.08, 47.0201),
        _address(8, "Kurvenweg", "11", 1, 9.0899, 47.03),
    ]
    places = [
        PlaceRow(
            id=1,
            name="Rathaus Alpha",
            names={"name:en": "Alpha Town Hall", "name:zh": "阿尔法市政厅"},
            kind="amenity=townhall",
            jurisdiction_id=1,
            lon=9.04,
            lat=47.055,
        ),
        PlaceRow(
            id=2,
            name="fire station",
            names={},
            kind="amenity=fire_station",
            jurisdiction_id=2,
            lon=9.17,
            lat=47.06,
        ),
    ]
    jurisdictions = [
        JurisdictionRow(1, "Alpha", {}, shapely.to_wkb(ALPHA)),
        JurisdictionRow(2, "Beta", {"name:fr": "Bêta"}, shapely.to_wkb(BETA)),
    ]
    return RegionIndex("test", 1, jurisdictions, streets, addresses, places)


@pytest.mark.parametrize(
    "query",
    [
        "Feldstrasse 12",
        "Feldstr. 12",
        "feldstrasse 12",
        "Feldstrase 12",
        "Fedlstrasse 12",
        "Feldsstrasse 12",
        "Feld Str 12, Alpha",
    ],
)
def test_address_despite_typos_and_abbreviations(index: RegionIndex, query: str) -> None:
    top = geocode_in(index, query)[0]
    assert top.kind == "address"
    assert (top.lon, top.lat) == (9.020, 47.0501)
    assert top.jurisdiction == "Alpha"


def test_twin_addresses_ranked_by_the_city_in_the_query(index: RegionIndex) -> None:
    assert geocode_in(index, "Feldstrasse 4, Beta")[0].lon == 9.160
    assert geocode_in(index, "Feldstrasse 4, Alpha")[0].lon == 9.012
    assert geocode_in(index, "Feldstrasse 4 Beta")[0].lon == 9.160


def test_missing_number_is_interpolated_between_neighbours(index: RegionIndex) -> None:
    top = geocode_in(index, "Feldstrasse 8, Alpha")[0]
    assert top.kind == "interpolated"
    assert top.lon == pytest.approx(9.012 + (9.020 - 9.012) * (8 - 4) / (12 - 4))
    assert "interpolated between 4 and 12" in top.explanation
    assert top.reason == "interpolated"


def test_interpolation_follows_a_bending_street(index: RegionIndex) -> None:
    top = geocode_in(index, "Kurvenweg 6")[0]
    assert top.kind == "interpolated"
    street = LineString([(9.08, 47.02), (9.09, 47.02), (9.09, 47.03)])
    here = shapely.Point(top.lon, top.lat)
    assert street.distance(here) < 0.0002  # on the street (about 15 m), not across the bend
    assert here.distance(shapely.Point(9.085, 47.025)) > 0.003


def test_far_number_falls_back_to_the_street_and_says_so(index: RegionIndex) -> None:
    top = geocode_in(index, "Feldstrasse 99, Alpha")[0]
    assert top.kind == "street"
    assert "99 not found" in top.explanation
    assert top.reason == "number_not_found"


def test_suffix_and_range(index: RegionIndex) -> None:
    assert geocode_in(index, "Bahnhofstrasse 7 a")[0].kind == "address"
    top = geocode_in(index, "Bahnhofstrasse 7b")[0]
    assert top.kind == "address"
    assert "7b not found" in top.explanation
    assert top.reason == "other_letter"
    top = geocode_in(index, "Feldstrasse 12-14, Alpha")[0]
    assert top.kind == "address"
    assert top.housenumber == "12"
    assert top.reason == "range_first"


@pytest.mark.parametrize(
    "query",
    [
        "Feldstrasse / Bahnhofstrasse",
        "Feldstr. & Bahnhofstr.",
        "Feldstrasse and Bahnhofstrasse",
        "Feldstrasse und Bahnhofstrasse",
        "Feldstrasse与Bahnhofstrasse交叉口",
    ],
)
def test_intersection(index: RegionIndex, query: str) -> None:
    top = geocode_in(index, query)[0]
    assert top.kind == "intersection"
    assert (top.lon, top.lat) == pytest.approx((9.03, 47.05))


@pytest.mark.parametrize(
    "query", ["Rathaus Alpha", "Alpha Town Hall", "alpha town hal", "阿尔法市政厅"]
)
def test_landmark_in_any_language(index: RegionIndex, query: str) -> None:
    top = geocode_in(index, query)[0]
    assert top.kind == "landmark"
    assert top.label.startswith("Rathaus Alpha")


def test_landmark_by_kind_word_and_town(index: RegionIndex) -> None:
    top = geocode_in(index, "Feuerwehr Beta")[0]
    assert top.kind == "landmark"
    assert top.jurisdiction == "Beta"


def test_saint_abbreviation(index: RegionIndex) -> None:
    top = geocode_in(index, "St. Anna-Platz 1")[0]
    assert top.kind == "address"
    assert top.lon == 9.065


def test_coordinates_with_jurisdiction(index: RegionIndex) -> None:
    top = geocode_in(index, "47.05N 9.15E")[0]
    assert top.kind == "coordinates"
    assert (top.lat, top.lon) == (47.05, 9.15)
    assert top.jurisdiction == "Beta"


def test_nonsense_finds_nothing(index: RegionIndex) -> None:
    assert geocode_in(index, "qwxz vbnm") == []


def test_typeahead_prefix_and_numbers(index: RegionIndex) -> None:
    texts = [s.text for s in suggest_in(index, "Feld")]
    assert texts[0] == "Feldstrasse"
    assert [s.text for s in suggest_in(index, "Feldstrasse 1")][:1] == ["Feldstrasse 12"]
    assert "Sankt-Anna-Platz" in [s.text for s in suggest_in(index, "anna")]
    assert "Rathaus Alpha" in [s.text for s in suggest_in(index, "Rath")]


def test_near_point_decides_between_twins(index: RegionIndex) -> None:
    assert geocode_in(index, "Feldstrasse 4", near=(47.05, 9.16))[0].lon == 9.160
    assert geocode_in(index, "Feldstrasse 4", near=(47.05, 9.01))[0].lon == 9.012
    # the text still wins over the point
    assert geocode_in(index, "Feldstrasse 4, Alpha", near=(47.05, 9.16))[0].lon == 9.012


def test_near_point_out_of_range_is_refused(index: RegionIndex) -> None:
    with pytest.raises(InvalidCoordinates, match="latitude 95"):
        geocode_in(index, "Feldstrasse 4", near=(95.0, 9.0))
