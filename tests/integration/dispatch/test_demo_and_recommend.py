"""The demo fleet from the map's stations, and recommendations on the real road network."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.bench.baseline import PgRoutingBaseline
from command.bootstrap import Container
from command.dispatching.recommendation import Recommender
from command.errors import Conflict, InvalidInput
from command.incidents.domain import IncidentStatus
from command.incidents.service import NewIncident
from dispatch import store as dispatch_store
from dispatch.demo import seed_region, seed_synthetic_fleet
from dispatch.errors import NotFound
from dispatch.units import Capability, UnitStatus
from tests.support import dispatch_builders as b


async def test_demo_fleet_from_the_fire_stations(map_engine: AsyncEngine) -> None:
    summary = await b.seeded(map_engine)
    async with map_engine.connect() as conn:
        stations = await dispatch_store.list_stations(conn, b.REGION)
        units = await dispatch_store.list_units(conn)
    fire = [s for s in stations if s.id.startswith("FS")]
    assert len(fire) >= 4
    assert summary.stations == len(stations)
    assert summary.units == len(units)
    kinds = Counter(u.unit_type for u in units)
    assert kinds["engine"] == 2 * len(fire)
    assert kinds["command_vehicle"] == 1
    assert all(u.station_id is not None and u.station_position is not None for u in units)
    assert all(u.status is UnitStatus.AVAILABLE for u in units)
    caps = set().union(*(u.capabilities for u in units))
    assert {Capability.ENGINE, Capability.LADDER, Capability.AMBULANCE_ALS} <= caps
    assert len({u.callsign for u in units}) == len(units)
    again = await b.seeded(map_engine)
    assert again.skipped


async def test_seeding_needs_an_imported_region(map_engine: AsyncEngine) -> None:
    async with map_engine.begin() as conn:
        with pytest.raises(NotFound, match="has no fire stations"):
            await seed_region(conn, "atlantis", datetime.now(UTC))
        with pytest.raises(NotFound, match="has no stations"):
            await seed_synthetic_fleet(conn, "atlantis", 10, datetime.now(UTC))


async def test_recommendation_matches_pgrouting_and_prefers_nearby_units(
    map_engine: AsyncEngine, parts: Container
) -> None:
    await b.seeded(map_engine)
    async with map_engine.begin() as conn:
        await seed_synthetic_fleet(conn, b.REGION, 40, datetime.now(UTC))
    # one engine parked right at the incident: it must be the fastest engine
    await b.add_unit(map_engine, "HERE-E", "engine", (b.BALZERS_CENTRE[0], b.BALZERS_CENTRE[1]))
    created, advice = await parts.recommender.create_and_recommend(
        NewIncident("fire.structure", *b.BALZERS_CENTRE), "user:ct1"
    )
    rec = advice.recommendation
    assert advice.source == "run_card"
    assert created.incident.jurisdiction_name == "Balzers"
    engine_picks = [c for c in rec.chosen if Capability.ENGINE in c.covers]
    assert engine_picks[0].unit_id == "HERE-E"
    assert engine_picks[0].ranks[Capability.ENGINE] == 1
    assert engine_picks[0].drive_time_s < 60
    # the same answer with pgRouting alone
    baseline = Recommender(map_engine, parts.config, parts.incidents, PgRoutingBaseline())
    again = await baseline.for_incident(created.incident.id)
    assert again.recommendation.unit_ids == rec.unit_ids
    for mine, theirs in zip(rec.chosen, again.recommendation.chosen, strict=True):
        assert mine.drive_time_s == pytest.approx(theirs.drive_time_s, abs=0.5)


async def test_a_plans_requirements_replace_the_run_card(
    map_engine: AsyncEngine, parts: Container
) -> None:
    await b.seeded(map_engine)
    created = await parts.incidents.create(NewIncident("flood", *b.SCHAAN_CENTRE), "user:ct1")
    found = await parts.recommender.for_incident(
        created.incident.id, {"water_rescue": 1, "engine": 3}
    )
    assert found.source == "requested"
    assert dict(found.recommendation.requirements) == {
        Capability.WATER_RESCUE: 1,
        Capability.ENGINE: 3,
    }
    assert sum(1 for c in found.recommendation.chosen if Capability.ENGINE in c.covers) == 3
    with pytest.raises(InvalidInput, match="whole number"):
        await parts.recommender.for_incident(created.incident.id, {"engine": -2})
    await parts.incidents.change_status(
        created.incident.id, IncidentStatus.CANCELLED, "user:d", "test"
    )
    with pytest.raises(Conflict, match="is cancelled; reopen it"):
        await parts.recommender.for_incident(created.incident.id)


async def test_incident_numbers_count_per_year_past_six_digits(
    map_engine: AsyncEngine, parts: Container
) -> None:
    first = await parts.incidents.create(NewIncident("medical", *b.VADUZ_CENTRE), "user:ct1")
    year = first.incident.created_at.year
    assert first.incident.number == f"{year}-000001"
    async with map_engine.begin() as conn:
        await conn.execute(
            text("UPDATE incident_numbers SET last = 999999 WHERE year = :y"), {"y": year}
        )
    big = await parts.incidents.create(NewIncident("medical", *b.VADUZ_CENTRE), "user:ct1")
    assert big.incident.number == f"{year}-1000000"
    assert [d.number for d in big.duplicates] == [first.incident.number]
