"""The database itself enforces the dispatch rules: one open assignment per unit, priorities in
range. (That the tables match the migrations: tests/integration/ops/test_schema_matches_tables.)
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine


async def test_one_open_assignment_per_unit_is_enforced_by_the_database(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO dispatch_units (id, callsign, unit_type, capabilities, crew, status,"
                " status_since) VALUES ('E1', 'E1', 'engine', '{engine}', 4, 'available', now())"
            )
        )
        await conn.execute(
            sa.text(
                "INSERT INTO incidents (number, type_code, priority, response_level, status,"
                " command_level, geom, created_by, created_at, updated_at) VALUES"
                " ('2026-000001', 'fire', 1, 4, 'new', 'district',"
                " ST_SetSRID(ST_MakePoint(9.5, 47.1), 4326), 't', now(), now())"
            )
        )
    insert = sa.text(
        "INSERT INTO dispatch_assignments (incident_id, unit_id, assigned_at, assigned_by)"
        " SELECT id, 'E1', now(), 't' FROM incidents"
    )
    async with engine.begin() as conn:
        await conn.execute(insert)
    with pytest.raises(sa.exc.IntegrityError, match="dispatch_assignments_one_open"):
        async with engine.begin() as conn:
            await conn.execute(insert)
    with pytest.raises(sa.exc.IntegrityError, match="incidents_priority"):
        async with engine.begin() as conn:
            await conn.execute(sa.text("UPDATE incidents SET priority = 7"))
