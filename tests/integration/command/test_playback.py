"""Playback over HTTP: a unit's track in a window and an incident's tracks as GeoJSON, the
simplified line keeping corners, stops and ends, bad windows refused with their codes, and an
incident's tracks still there after retention dropped their day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dispatch.avl import store
from dispatch.avl.fixes import Fix
from tests.support import track_builders as tb
from tests.support.builders import signed_in
from tests.support.live import LiveApp

S = timedelta(seconds=1)
M_LAT = 1 / 110_574.0


def _drive(unit: str, start: datetime) -> list[Fix]:
    """East 490 m, a corner, north 490 m, a three-minute stop, with one glitch on the way."""
    lon0, lat0 = 9.52, 47.14
    m_lon = 1 / (111_320.0 * 0.6807)
    fixes = [tb.fix(unit, start + n * 10 * S, lon0 + 10 * n * m_lon, lat0) for n in range(50)]
    corner = lon0 + 490 * m_lon
    north = [(start + (490 + n * 10) * S, lat0 + 10 * n * M_LAT) for n in range(1, 50)]
    fixes += [tb.fix(unit, at, corner, lat) for at, lat in north]
    end = start + 980 * S
    fixes += [
        tb.fix(unit, end + n * 10 * S, corner + (n % 2) * m_lon, lat0 + 490 * M_LAT)
        for n in range(1, 19)
    ]
    fixes.append(tb.fix(unit, start + 255 * S, lon0 + 0.05, lat0, jump=True))
    return fixes


async def _get(live: LiveApp, path: str, auth: dict[str, str], **params: str | float) -> Any:
    return await live.http.get(path, params=params, headers=auth)


async def test_a_units_track_in_a_window(live: LiveApp) -> None:
    engine = live.container.engine
    auth = await signed_in(live.http, engine, "d1", "dispatcher")
    now = live.container.clock().replace(microsecond=0)
    start = now - timedelta(hours=2)
    await tb.unit(engine, "E1")
    drive = _drive("E1", start)
    outside = [tb.fix("E1", start - S), tb.fix("E1", start + 2000 * S)]
    await tb.write(engine, drive + outside)

    r = await _get(
        live,
        "/api/v1/units/E1/track",
        auth,
        since=start.isoformat(),
        until=(start + 2000 * S).isoformat(),  # half-open: the fix at the end is not in it
        simplify=5,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == len(drive) == 118
    points = body["points"]["features"]
    assert body["points"]["type"] == "FeatureCollection"
    assert points[0]["geometry"] == {"type": "Point", "coordinates": [9.52, 47.14]}
    times = [datetime.fromisoformat(f["properties"]["time"]) for f in points]
    assert times == sorted(times)
    assert [f["properties"]["jump"] for f in points].count(True) == 1
    [line] = body["lines"]["features"]
    assert line["geometry"]["type"] == "LineString"
    assert len(line["geometry"]["coordinates"]) == 117  # every fix but the jump
    assert len(line["properties"]["times"]) == 117
    [simple] = body["simplified"]["features"]
    coords = simple["geometry"]["coordinates"]
    assert coords[0] == line["geometry"]["coordinates"][0]
    assert coords[-1] == line["geometry"]["coordinates"][-1]
    corner = line["geometry"]["coordinates"][49]
    assert corner in coords
    # ends, the corner, where the stop began: a handful of points instead of 117
    assert 4 <= len(coords) <= 8, coords
    kept_times = [datetime.fromisoformat(t) for t in simple["properties"]["times"]]
    assert any(abs((t - (start + 990 * S)).total_seconds()) <= 10 for t in kept_times)

    # by default the last 24 hours, not simplified when asked so
    r = await _get(live, "/api/v1/units/E1/track", auth, simplify=0)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == len(drive) + 2
    assert len(body["simplified"]["features"][0]["geometry"]["coordinates"]) == 119
    assert datetime.fromisoformat(body["until"]) - datetime.fromisoformat(
        body["since"]
    ) == timedelta(hours=24)


async def test_bad_windows_are_refused_with_their_codes(live: LiveApp) -> None:
    engine = live.container.engine
    auth = await signed_in(live.http, engine, "d1", "dispatcher")
    await tb.unit(engine, "E1")
    now = live.container.clock()
    cases: list[tuple[dict[str, str | float], int, str]] = [
        ({"since": now.isoformat(), "until": (now - S).isoformat()}, 422, "track.window_reversed"),
        (
            {"since": (now - timedelta(days=8)).isoformat(), "until": now.isoformat()},
            422,
            "track.window_too_long",
        ),
        ({"since": "2026-12-01T10:00:00"}, 422, "track.time_zone_missing"),
        ({"simplify": -1}, 422, "track.tolerance_out_of_range"),
        ({"simplify": 5000}, 422, "track.tolerance_out_of_range"),
        ({"since": "yesterday"}, 422, "request.invalid"),
    ]
    for params, status, code in cases:
        r = await _get(live, "/api/v1/units/E1/track", auth, **params)
        assert (r.status_code, r.json()["code"]) == (status, code), (params, r.text)
    r = await _get(live, "/api/v1/units/E1/track", auth, simplify=-1)
    assert r.json()["params"] == {"tolerance_m": -1.0, "max_m": 1000.0}
    r = await _get(live, "/api/v1/units/NOPE/track", auth)
    assert (r.status_code, r.json()["code"]) == (404, "unit.unknown")
    r = await _get(live, "/api/v1/incidents/999999/tracks", auth)
    assert (r.status_code, r.json()["code"]) == (404, "incident.not_found")
    r = await live.http.get("/api/v1/units/E1/track")
    assert r.status_code == 401


async def test_an_incidents_tracks_outlive_their_days_partition(live: LiveApp) -> None:
    engine = live.container.engine
    auth = await signed_in(live.http, engine, "d1", "dispatcher")
    now = live.container.clock().replace(microsecond=0)
    start = now - timedelta(hours=3)
    for u in ("E1", "E2", "E3"):
        await tb.unit(engine, u)
        await tb.write(engine, tb.every(u, start, start + 30 * 60 * S, 60 * S, east_m_per_step=50))
    fire = await tb.incident(engine, start)
    await tb.assignment(engine, fire, "E1", start + 5 * 60 * S, start + 10 * 60 * S)
    await tb.assignment(engine, fire, "E2", start + 20 * 60 * S, None)  # still assigned

    async def tracks() -> Any:
        r = await _get(live, f"/api/v1/incidents/{fire}/tracks", auth, simplify=0)
        assert r.status_code == 200, r.text
        return r.json()

    before = await tracks()
    assert [u["unit_id"] for u in before["units"]] == ["E1", "E2"]
    assert before["units"][1]["until"] is None
    assert before["count"] == 6 + 11
    lines = {f["properties"]["unit_id"]: f for f in before["lines"]["features"]}
    assert set(lines) == {"E1", "E2"}  # E3 never worked it
    assert len(lines["E1"]["geometry"]["coordinates"]) == 6  # minutes 5 to 10
    assert datetime.fromisoformat(lines["E2"]["properties"]["start"]) == start + 20 * 60 * S

    # retention drops every day up to tomorrow: the incident's part is kept
    done = await store.apply_retention(engine, now + timedelta(days=2))
    assert done.dropped
    assert await tracks() == before
    r = await _get(live, "/api/v1/units/E3/track", auth)
    assert r.json()["count"] == 0
    r = await _get(live, "/api/v1/units/E1/track", auth)
    assert r.json()["count"] == 6
