"""GIS: drop two indexes that repeat the leading column of another index on the same table.

``gis_addresses_region (region)`` is the first column of ``gis_addresses_street_number
(region, street_norm, housenumber)``, and ``gis_features_region (region)`` the first of
``gis_features_layer (region, layer)``: every query filtering on the region alone (the
re-import's delete, the geocoder's load) can use the wider index, while each import had to fill
both.

Revision ID: 0008_gis_redundant_indexes
Revises: 0004_gis_routing
"""

from __future__ import annotations

from alembic import op

revision = "0008_gis_redundant_indexes"
down_revision = "0004_gis_routing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("gis_addresses_region", "gis_addresses")
    op.drop_index("gis_features_region", "gis_features")


def downgrade() -> None:
    op.create_index("gis_features_region", "gis_features", ["region"])
    op.create_index("gis_addresses_region", "gis_addresses", ["region"])
