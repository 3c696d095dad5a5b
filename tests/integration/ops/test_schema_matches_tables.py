"""The migrations make exactly what the packages' table definitions say, and the check finds it
when they part: a column added to a table without a migration, an index a migration adds that
the tables do not declare, a table no package declares, a changed index or check, a foreign key
between packages that nobody listed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.ext.asyncio import AsyncEngine

import command.consulting.tables
import command.incidents.tables
import command.tables
import command.tracking.tables
import dispatch.tables
import gis.tables
import plans.tables
import telephony.tables
from tests.support.schema import Reference, copy_of, differences, table_set_differences

PACKAGES: dict[str, sa.MetaData] = {
    "command": command.tables.metadata,
    "command.consulting": command.consulting.tables.metadata,
    "command.incidents": command.incidents.tables.metadata,
    "command.tracking": command.tracking.tables.metadata,
    "dispatch": dispatch.tables.metadata,
    "gis": gis.tables.metadata,
    "plans": plans.tables.metadata,
    "telephony": telephony.tables.metadata,
}

ROOT = Path(__file__).resolve().parents[3]
SOURCE_PACKAGES = ("command", "gis", "telephony", "dispatch", "plans", "video")

# Foreign keys from one package's table to another's (not declarable across MetaData objects).
CROSS_PACKAGE_REFERENCES: tuple[Reference, ...] = (
    Reference("dispatch_units", ("incident_id",), "incidents", ("id",)),
    Reference("dispatch_assignments", ("incident_id",), "incidents", ("id",)),
    Reference("tracking_device_bindings", ("unit_id",), "dispatch_units", ("id",)),
    Reference("incident_tracks", ("incident_id",), "incidents", ("id",), "CASCADE"),
    Reference("plan_situations", ("incident_id",), "incidents", ("id",)),
    Reference("plan_matches", ("incident_id",), "incidents", ("id",)),
    Reference("plan_activations", ("incident_id",), "incidents", ("id",)),
    Reference("plan_tasks", ("incident_id",), "incidents", ("id",)),
    Reference("consultations", ("incident_id",), "incidents", ("id",)),
    Reference("incident_attachments", ("incident_id",), "incidents", ("id",)),
)


def _listed(found: list[str]) -> str:
    return "\n".join(["the database and the tables differ:", *found])


@pytest.fixture
def engine(admin_engine: AsyncEngine) -> AsyncEngine:
    """The schema as its owner reaches it: the probes are built on the tables themselves, and
    the audit tables are not the server's role's to alter."""
    return admin_engine


async def _differences(engine: AsyncEngine, metadata: sa.MetaData, *setup: str) -> list[str]:
    """The differences after running ``setup`` (as a migration would) on this test's database."""
    async with engine.connect() as conn:
        for statement in setup:
            await conn.execute(sa.text(statement))
        return await conn.run_sync(differences, metadata, CROSS_PACKAGE_REFERENCES)


@pytest.mark.parametrize("package", sorted(PACKAGES))
async def test_the_tables_say_what_the_migrations_make(engine: AsyncEngine, package: str) -> None:
    found = await _differences(engine, PACKAGES[package])
    assert found == [], _listed(found)


def test_every_tables_module_is_checked() -> None:
    modules = {
        ".".join(path.relative_to(ROOT).parent.parts)
        for package in SOURCE_PACKAGES
        for path in (ROOT / package).rglob("tables.py")
    }
    assert modules == set(PACKAGES)


async def test_every_table_belongs_to_exactly_one_package(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        found = await conn.run_sync(table_set_differences, PACKAGES)
    assert found == [], _listed(found)


# --- the check cannot pass silently ----------------------------------------------------------


def _with_column(metadata: sa.MetaData) -> None:
    metadata.tables["incidents"].append_column(sa.Column("severity", sa.Text))


def _with_polygon_geometry(metadata: sa.MetaData) -> None:
    table = metadata.tables["incidents"]
    table.append_column(
        sa.Column("geom", Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False),
        replace_existing=True,
    )


def _with_unnamed_check(metadata: sa.MetaData) -> None:
    metadata.tables["incidents"].append_constraint(sa.CheckConstraint("priority > 0"))


def _without_partial_predicate(metadata: sa.MetaData) -> None:
    table = metadata.tables["dispatch_assignments"]
    index = next(i for i in table.indexes if i.name == "dispatch_assignments_one_open")
    table.indexes.remove(index)
    sa.Index("dispatch_assignments_one_open", table.c.unit_id, unique=True)


@pytest.mark.parametrize(
    ("package", "change", "expected"),
    [
        (
            "command.incidents",
            _with_column,
            "column incidents.severity is declared but not in the database",
        ),
        (
            "command.incidents",
            _with_polygon_geometry,
            "column incidents.geom: type is geometry(POINT,4326) in the database, "
            "geometry(POLYGON,4326) in the tables",
        ),
        (
            "command.incidents",
            _with_unnamed_check,
            "table incidents: a check constraint has no name",
        ),
        (
            "dispatch",
            _without_partial_predicate,
            "index dispatch_assignments_one_open: the database has `CREATE UNIQUE INDEX "
            "dispatch_assignments_one_open ON public.dispatch_assignments USING btree (unit_id) "
            "WHERE (ended_at IS NULL)`, the tables say `CREATE UNIQUE INDEX "
            "dispatch_assignments_one_open ON public.dispatch_assignments USING btree (unit_id)`",
        ),
    ],
    ids=["column", "geometry-type", "unnamed-check", "index-predicate"],
)
async def test_a_declaration_without_a_migration_is_reported(
    engine: AsyncEngine,
    package: str,
    change: Callable[[sa.MetaData], None],
    expected: str,
) -> None:
    metadata = copy_of(PACKAGES[package])
    change(metadata)
    found = await _differences(engine, metadata)
    assert any(d.startswith(expected) for d in found), _listed(found)
    assert await _differences(engine, PACKAGES[package]) == [], "the original was changed"


@pytest.mark.parametrize(
    ("package", "migration", "expected"),
    [
        (
            "command.incidents",
            ["CREATE INDEX incidents_type ON incidents (type_code)"],
            "index incidents_type on incidents(type_code) is in the database but not declared",
        ),
        (
            "gis",
            [
                "DROP INDEX gis_streets_norm_trgm",
                "CREATE INDEX gis_streets_norm_trgm ON gis_streets (norm)",
            ],
            "index gis_streets_norm_trgm: the database has `CREATE INDEX gis_streets_norm_trgm "
            "ON public.gis_streets USING btree (norm)`, the tables say `CREATE INDEX "
            "gis_streets_norm_trgm ON public.gis_streets USING gin (norm gin_trgm_ops)`",
        ),
        (
            "gis",
            [
                "ALTER TABLE gis_addresses DROP CONSTRAINT gis_addresses_street_id_fkey",
                "ALTER TABLE gis_addresses ADD FOREIGN KEY (street_id) REFERENCES gis_streets",
            ],
            "foreign key gis_addresses(street_id) -> gis_streets(id) ON DELETE SET NULL "
            "is declared but not in the database",
        ),
        (
            "command.incidents",
            [
                "ALTER TABLE incidents DROP CONSTRAINT incidents_priority",
                "ALTER TABLE incidents ADD CONSTRAINT incidents_priority"
                " CHECK (priority BETWEEN 1 AND 5)",
            ],
            "check constraint incidents_priority: the database has "
            "`CHECK (((priority >= 1) AND (priority <= 5)))`",
        ),
        (
            "telephony",
            ["ALTER TABLE calls ADD CONSTRAINT calls_queue CHECK (queue <> '')"],
            "check constraint calls_queue on calls is in the database but not declared",
        ),
        (
            "telephony",
            ["ALTER TABLE seats ALTER COLUMN paused SET DEFAULT true"],
            "column seats.paused: server default is `true` in the database, `false` in the tables",
        ),
        (
            "telephony",
            ["ALTER TABLE seats DROP CONSTRAINT seats_pkey"],
            "table seats: primary key is [] in the database, ['interface'] in the tables",
        ),
        (
            "dispatch",
            ["ALTER TABLE dispatch_units DROP CONSTRAINT dispatch_units_incident_id_fkey"],
            "cross-package reference dispatch_units(incident_id) -> incidents(id) is listed "
            "but the database has no such foreign key",
        ),
        (
            "dispatch",
            [
                "ALTER TABLE dispatch_unit_status_history"
                " ADD FOREIGN KEY (incident_id) REFERENCES incidents"
            ],
            "foreign key dispatch_unit_status_history(incident_id) -> incidents(id) is in the "
            "database but not in the list of cross-package references",
        ),
    ],
    ids=[
        "extra-index",
        "index-method",
        "fk-on-delete",
        "check-body",
        "extra-check",
        "server-default",
        "primary-key",
        "cross-fk-missing",
        "cross-fk-unlisted",
    ],
)
async def test_a_migration_the_tables_do_not_follow_is_reported(
    engine: AsyncEngine, package: str, migration: list[str], expected: str
) -> None:
    found = await _differences(engine, PACKAGES[package], *migration)
    assert any(d.startswith(expected) for d in found), _listed(found)


async def test_a_table_no_package_declares_is_reported(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("CREATE TABLE gis_scratch (id bigint PRIMARY KEY)"))
        found = await conn.run_sync(table_set_differences, PACKAGES)
    assert found == ["table gis_scratch is in the database but no package declares it"]


async def test_a_table_two_packages_declare_is_reported(engine: AsyncEngine) -> None:
    both = {**PACKAGES, "plans": copy_of(command.incidents.tables.metadata)}
    async with engine.connect() as conn:
        found = await conn.run_sync(table_set_differences, both)
    assert "table incidents is declared by command.incidents and plans" in found
