"""Migration 0005 creates exactly the columns the table definitions use."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from command.incidents import tables as incident_tables
from dispatch import tables as dispatch_tables


def _columns(sync: Connection) -> dict[str, set[str]]:
    inspector = sa.inspect(sync)
    names = list(dispatch_tables.metadata.tables) + list(incident_tables.metadata.tables)
    return {name: {c["name"] for c in inspector.get_columns(name)} for name in names}


async def test_tables_match_the_migration(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        found = await conn.run_sync(_columns)
    for metadata in (dispatch_tables.metadata, incident_tables.metadata):
        for name, table in metadata.tables.items():
            assert found[name] == {c.name for c in table.columns}, name


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
