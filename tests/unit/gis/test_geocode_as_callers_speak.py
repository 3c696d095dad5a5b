"""Geocoding text as callers say it, on a small hand-made region (no database): streets without
their generic word, house-number forms and floors, sentences around the address, landmarks by
generic words of other languages, and answers that are not what was asked said to be so."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, box

from gis.geocode.index import AddressRow, JurisdictionRow, PlaceRow, RegionIndex, StreetRow
from gis.geocode.model import Candidate
from gis.geocode.service import geocode_in

# Two towns side by side: Alpha (x 9.0..9.1) and Beta (x 9.1..9.2), latitude 47.0..47.1.
ALPHA = MultiPolygon([box(9.0, 47.0, 9.1, 47.1)])
BETA = MultiPolygon([box(9.1, 47.0, 9.2, 47.1)])

STREETS = [
    ("Feldkircher Strasse", 1, 47.010),
    ("Rua de Santa Catarina", 1, 47.020),
    ("Avinguda Carlemany", 1, 47.030),
    ("Reichenbachstraße", 1, 47.040),
    ("Reichenbachplatz", 1, 47.050),
    ("Brunnenweg", 2, 47.060),
    ("Im Rietacker", 2, 47.070),
    ("Landstrasse", 2, 47.080),
]


def _rows() -> tuple[list[StreetRow], list[AddressRow]]:
    streets: list[StreetRow] = []
    addresses: list[AddressRow] = []
    for i, (name, jid, lat) in enumerate(STREETS, start=1):
        x0 = 9.01 if jid == 1 else 9.11
        line = LineString([(x0, lat), (x0 + 0.05, lat)])
        mid = line.interpolate(0.5, normalized=True)
        streets.append(
            StreetRow(
                id=i,
                name=name,
                names={},
                norm="",
                jurisdiction_id=jid,
                wkb=shapely.to_wkb(MultiLineString([line])),
                lon=mid.x,
                lat=mid.y,
            )
        )
        numbers = ["6", "12", "55", "59"] if name != "Reichenbachplatz" else ["2", "4"]
        if name == "Reichenbachstraße":
            numbers.append("16")
        for n, number in enumerate(numbers):
            addresses.append(
                AddressRow(
                    id=100 * i + n,
                    street=name,
                    place=None,
                    housenumber=number,
                    postcode=None,
                    city=None,
                    jurisdiction_id=jid,
                    lon=x0 + 0.002 + 0.008 * n,
                    lat=lat + 0.0001,
                )
            )
    return streets, addresses


def _place(i: int, name: str, kind: str, jid: int, lon: float, lat: float) -> PlaceRow:
    return PlaceRow(id=i, name=name, names={}, kind=kind, jurisdiction_id=jid, lon=lon, lat=lat)


@pytest.fixture(scope="module")
def index() -> RegionIndex:
    streets, addresses = _rows()
    places = [
        _place(1, "Pfarrkirche St. Florian", "amenity=place_of_worship", 1, 9.05, 47.091),
        _place(2, "Jugendherberge", "tourism=hostel", 2, 9.15, 47.091),
        _place(3, "Kapelle St. Florian", "amenity=place_of_worship", 2, 9.18, 47.095),
        _place(4, "Alpha", "place=village", 1, 9.05, 47.05),
        _place(5, "Beta", "place=village", 2, 9.15, 47.05),
        _place(6, "Primarschule Beta", "amenity=school", 2, 9.16, 47.03),
    ]
    return RegionIndex(
        "test",
        1,
        [
            JurisdictionRow(1, "Alpha", {}, shapely.to_wkb(ALPHA)),
            JurisdictionRow(2, "Beta", {}, shapely.to_wkb(BETA)),
        ],
        streets,
        addresses,
        places,
    )


def _top(index: RegionIndex, query: str) -> Candidate:
    found = geocode_in(index, query)
    assert found, query
    return found[0]


@pytest.mark.parametrize(
    ("query", "street", "number"),
    [
        ("Feldkircher 55", "Feldkircher Strasse", "55"),
        ("Feldkircher 55, Alpha", "Feldkircher Strasse", "55"),
        ("Santa Catarina 12", "Rua de Santa Catarina", "12"),
        ("Rua Santa Catarina 12", "Rua de Santa Catarina", "12"),
        ("Carlemany 59", "Avinguda Carlemany", "59"),
        ("Reichenbach 16", "Reichenbachstraße", "16"),
        ("Rietacker 6, Beta", "Im Rietacker", "6"),
        ("Feldkirchr 55", "Feldkircher Strasse", "55"),
    ],
)
def test_street_without_its_generic_word(
    index: RegionIndex, query: str, street: str, number: str
) -> None:
    top = _top(index, query)
    assert (top.kind, top.street, top.housenumber) == ("address", street, number)


@pytest.mark.parametrize(
    "query",
    [
        "Feldkircher Strasse, Nr. 55, 2. Stock",
        "Feldkircher Strasse, Hausnr. 55",
        "Feldkircher Strasse nº 55, 2º esq.",
        "Feldkircher Strasse, #55, Top 4, Alpha",
        "55, Feldkircher Strasse, Alpha",
        "Feldkircher Strasse 55号 3楼",
    ],
)
def test_number_forms_find_the_number(index: RegionIndex, query: str) -> None:
    top = _top(index, query)
    assert (top.kind, top.street, top.housenumber) == ("address", "Feldkircher Strasse", "55")
    assert top.extra["exact"] is True


def test_floor_kept_as_detail_not_read_as_the_number(index: RegionIndex) -> None:
    top = _top(index, "Brunnenweg 12, 2. Stock, Beta")
    assert (top.housenumber, top.extra["detail"]) == ("12", "2. Stock")
    top = _top(index, "Brunnenweg 6, segundo andar")
    assert (top.housenumber, top.extra["detail"]) == ("6", "segundo andar")


@pytest.mark.parametrize(
    ("sentence", "span"),
    [
        ("Hilfe, wir wohnen am Brunnenweg 6, zweiter Stock", None),
        ("Hilfe bitte schnell wir wohnen am Brunnenweg 6 in Beta", "Brunnenweg 6 in Beta"),
        ("my husband collapsed we are at 12 Brunnenweg please come quickly", "12 Brunnenweg"),
        ("socorro moramos na Rua de Santa Catarina 59 segundo andar venham", None),
    ],
)  # fmt: skip
def test_address_inside_a_sentence(index: RegionIndex, sentence: str, span: str | None) -> None:
    top = _top(index, sentence)
    assert top.kind == "address"
    assert top.housenumber in {"6", "12", "59"}
    if span is not None:
        assert span in top.extra["span"]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("Pfarrkirche St. Florian", "Pfarrkirche St. Florian"),
        ("church St. Florian", "Pfarrkirche St. Florian"),
        ("Iglesia St. Florian, Alpha", "Pfarrkirche St. Florian"),
        ("chapel St. Florian", "Kapelle St. Florian"),
        ("youth hostel", "Jugendherberge"),
        ("school Beta", "Primarschule Beta"),
    ],
)
def test_landmarks_by_generic_words_of_any_language(
    index: RegionIndex, query: str, name: str
) -> None:
    top = _top(index, query)
    assert top.kind == "landmark"
    assert top.label.startswith(name)


def test_a_landmark_outside_the_town_named_says_so(index: RegionIndex) -> None:
    top = _top(index, "Jugendherberge, Alpha")  # the hostel is in Beta
    assert top.kind == "landmark"
    assert top.reason == "landmark_elsewhere"
    assert top.extra["exact"] is False


@pytest.mark.parametrize(
    "query",
    [
        "Feldkircher Strasse 999",  # the street has no such number
        "Feldkircher 999, Alpha",
        "Nowherestreet 12, Alpha",  # no such street: only the town
        "Alpha 12",
    ],
)
def test_a_town_or_street_for_a_numbered_query_is_never_exact(
    index: RegionIndex, query: str
) -> None:
    for c in geocode_in(index, query):
        if c.kind in ("street", "landmark"):
            assert c.extra["exact"] is False, c
            assert c.reason in ("number_not_found", "place_only", "landmark_elsewhere"), c
    top = _top(index, query)
    assert top.kind != "address"
    assert top.extra["exact"] is False
