"""Reading the OsmAnd protocol's fields and Traccar Client 9's JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dispatch.avl.osmand import KNOT_MPS, OsmAndError, from_fields, from_json, read_time

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    ["1777622400", "1777622400000", "2026-05-01T08:00:00Z", "2026-05-01 08:00:00",
     "2026-05-01T10:00:00+02:00"],
)
def test_every_time_form_is_the_same_instant(raw: str) -> None:
    assert read_time(raw, "timestamp", NOW) == datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def test_no_time_is_the_arrival() -> None:
    assert read_time(None, "timestamp", NOW) == NOW


def test_fields_with_knots_and_hdop() -> None:
    r = from_fields(
        {"deviceid": "42", "location": "47.1,9.5", "speed": "2", "hdop": "2", "bearing": "10"},
        NOW,
    )
    assert r.device_id == "42"
    assert (r.reported.lat, r.reported.lon) == (47.1, 9.5)
    assert r.reported.speed_mps == pytest.approx(2 * KNOT_MPS)
    assert r.reported.accuracy_m == 10.0
    assert r.reported.heading_deg == 10.0


def test_traccar_client_json_with_unknowns_as_minus_one() -> None:
    r = from_json(
        {"device_id": "42", "location": {"timestamp": "2026-05-01T08:00:00.000Z",
         "coords": {"latitude": 47.1, "longitude": 9.5, "speed": -1, "heading": -1},
         "battery": {"level": 0.5}}},
        NOW,
    )
    assert (r.reported.speed_mps, r.reported.heading_deg, r.reported.battery_pct) == (
        None, None, 50.0,
    )


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"lat": "1", "lon": "2"}, "id", "osmand.field_missing"),
        ({"id": "1", "lat": "1"}, "lon", "osmand.field_missing"),
        ({"id": "1", "location": "1;2"}, "location", "osmand.field_invalid"),
        ({"id": "1", "lat": "1", "lon": "2", "timestamp": "soon"}, "timestamp",
         "osmand.field_invalid"),
        ({"id": "1", "lat": "1", "lon": "2", "speed": "fast"}, "speed", "osmand.field_invalid"),
    ],
)
def test_unreadable_fields_are_named(fields: dict[str, str], field: str, code: str) -> None:
    with pytest.raises(OsmAndError) as caught:
        from_fields(fields, NOW)
    assert (caught.value.field, caught.value.code) == (field, code)


def test_json_without_coordinates_is_named() -> None:
    with pytest.raises(OsmAndError) as caught:
        from_json({"device_id": "1", "location": {"coords": {"latitude": 1}}}, NOW)
    assert caught.value.field == "location.coords.longitude"
