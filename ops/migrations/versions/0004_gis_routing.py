"""GIS zones and first-due areas: custom polygons for plans, station areas by drive time.

Revision ID: 0004_gis_routing
Revises: 0002_gis
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0004_gis_routing"
down_revision = "0002_gis"
branch_labels = None
depends_on = None


def _region() -> sa.Column[str]:
    return sa.Column(
        "region",
        sa.Text,
        sa.ForeignKey("gis_regions.name", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "gis_zones",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        _region(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column(
            "geom",
            Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name="gis_zones_valid"),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name="gis_zones_name"),
    )
    op.execute("CREATE INDEX gis_zones_geom ON gis_zones USING gist (geom)")
    op.execute("CREATE UNIQUE INDEX gis_zones_region_name ON gis_zones (region, name)")
    op.create_table(
        "gis_first_due",
        _region(),
        sa.Column("station", sa.Text, nullable=False),
        sa.Column("max_seconds", sa.Float, nullable=False),
        sa.Column(
            "geom",
            Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column(
            "computed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("region", "station"),
    )
    op.execute("CREATE INDEX gis_first_due_geom ON gis_first_due USING gist (geom)")


def downgrade() -> None:
    op.drop_table("gis_first_due")
    op.drop_table("gis_zones")
