"""Indexes on the jurisdiction of streets, addresses and places.

Replacing a region deletes its jurisdictions, and for each one deleted PostgreSQL looked for
the rows referring to it (``ON DELETE SET NULL``) by reading these tables whole: a re-import
into a database holding a city of a million addresses spent a minute there.

Revision ID: 0021_geocode_snapshot
Revises: 0020_sensitive_incidents
"""

from __future__ import annotations

from alembic import op

revision = "0021_geocode_snapshot"
down_revision = "0020_sensitive_incidents"
branch_labels = None
depends_on = None

TABLES = ("gis_streets", "gis_addresses", "gis_places")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"CREATE INDEX {table}_jurisdiction ON {table} (jurisdiction_id)")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP INDEX {table}_jurisdiction")
