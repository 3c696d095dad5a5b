"""GIS: imported OSM regions, jurisdictions, streets, addresses, places, road graph, features.

Revision ID: 0002_gis
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002_gis"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def _region() -> sa.Column[str]:
    return sa.Column(
        "region",
        sa.Text,
        sa.ForeignKey("gis_regions.name", ondelete="CASCADE"),
        nullable=False,
    )


def _geom(kind: str) -> sa.Column[object]:
    return sa.Column("geom", Geometry(kind, srid=4326, spatial_index=False), nullable=False)


def upgrade() -> None:
    op.create_table(
        "gis_regions",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("srid_metric", sa.Integer, nullable=False),
        sa.Column("bbox", Geometry("POLYGON", srid=4326, spatial_index=False)),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("generation", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column("stats", JSONB, nullable=False, server_default="{}"),
    )
    op.create_table(
        "gis_jurisdictions",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        _region(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("admin_level", sa.Integer, nullable=False),
        sa.Column("names", JSONB, nullable=False, server_default="{}"),
        sa.Column("osm_id", sa.BigInteger),
        _geom("MULTIPOLYGON"),
    )
    op.create_table(
        "gis_streets",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        _region(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("names", JSONB, nullable=False, server_default="{}"),
        sa.Column("norm", sa.Text, nullable=False),
        sa.Column(
            "jurisdiction_id",
            sa.Integer,
            sa.ForeignKey("gis_jurisdictions.id", ondelete="SET NULL"),
        ),
        sa.Column("highway", sa.Text),
        _geom("MULTILINESTRING"),
    )
    op.create_table(
        "gis_addresses",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        _region(),
        sa.Column("street", sa.Text),
        sa.Column("street_norm", sa.Text),
        sa.Column("place", sa.Text),
        sa.Column("housenumber", sa.Text, nullable=False),
        sa.Column("postcode", sa.Text),
        sa.Column("city", sa.Text),
        sa.Column(
            "jurisdiction_id",
            sa.Integer,
            sa.ForeignKey("gis_jurisdictions.id", ondelete="SET NULL"),
        ),
        sa.Column("street_id", sa.BigInteger, sa.ForeignKey("gis_streets.id", ondelete="SET NULL")),
        sa.Column("osm_type", sa.CHAR(1)),
        sa.Column("osm_id", sa.BigInteger),
        _geom("POINT"),
    )
    op.create_table(
        "gis_places",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        _region(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("names", JSONB, nullable=False, server_default="{}"),
        sa.Column("norm", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column(
            "jurisdiction_id",
            sa.Integer,
            sa.ForeignKey("gis_jurisdictions.id", ondelete="SET NULL"),
        ),
        sa.Column("street", sa.Text),
        sa.Column("housenumber", sa.Text),
        sa.Column("osm_type", sa.CHAR(1)),
        sa.Column("osm_id", sa.BigInteger),
        _geom("POINT"),
    )
    # Vertex ids come from a sequence so that several regions share one graph id space.
    op.execute("CREATE SEQUENCE gis_road_vertices_id_seq AS bigint")
    op.create_table(
        "gis_road_vertices",
        sa.Column(
            "id",
            sa.BigInteger,
            primary_key=True,
            server_default=sa.text("nextval('gis_road_vertices_id_seq')"),
        ),
        _region(),
        sa.Column("osm_node_id", sa.BigInteger),
        _geom("POINT"),
    )
    op.execute("ALTER SEQUENCE gis_road_vertices_id_seq OWNED BY gis_road_vertices.id")
    op.create_table(
        "gis_road_edges",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        _region(),
        sa.Column("osm_way_id", sa.BigInteger, nullable=False),
        sa.Column("source", sa.BigInteger, nullable=False),
        sa.Column("target", sa.BigInteger, nullable=False),
        sa.Column("cost_s", sa.Float, nullable=False),
        sa.Column("reverse_cost_s", sa.Float, nullable=False),
        sa.Column("length_m", sa.Float, nullable=False),
        sa.Column("highway", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("maxspeed_kmh", sa.Float),
        _geom("LINESTRING"),
    )
    op.create_table(
        "gis_features",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        _region(),
        sa.Column("layer", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        _geom("GEOMETRY"),
    )
    for table in (
        "gis_jurisdictions",
        "gis_streets",
        "gis_addresses",
        "gis_places",
        "gis_road_vertices",
        "gis_road_edges",
        "gis_features",
    ):
        op.execute(f"CREATE INDEX {table}_geom ON {table} USING gist (geom)")
        op.execute(f"CREATE INDEX {table}_region ON {table} (region)")
    op.execute("CREATE INDEX gis_streets_norm_trgm ON gis_streets USING gin (norm gin_trgm_ops)")
    op.execute("CREATE INDEX gis_places_norm_trgm ON gis_places USING gin (norm gin_trgm_ops)")
    op.execute(
        "CREATE INDEX gis_addresses_street_number ON gis_addresses "
        "(region, street_norm, housenumber)"
    )
    op.execute("CREATE INDEX gis_addresses_street_id ON gis_addresses (street_id)")
    op.execute("CREATE INDEX gis_road_edges_source ON gis_road_edges (source)")
    op.execute("CREATE INDEX gis_road_edges_target ON gis_road_edges (target)")
    op.execute("CREATE INDEX gis_features_layer ON gis_features (region, layer)")


def downgrade() -> None:
    for table in (
        "gis_features",
        "gis_road_edges",
        "gis_road_vertices",
        "gis_places",
        "gis_addresses",
        "gis_streets",
        "gis_jurisdictions",
        "gis_regions",
    ):
        op.drop_table(table)
