"""The GIS tables (SQLAlchemy Core): imported OSM regions, their streets, addresses, places,
jurisdictions, the routable road graph and the basemap features.

Every row belongs to a region (``gis_regions.name``); re-importing a region replaces all its rows
in one transaction. The schema itself is created by the Alembic revision ``0002_gis``.
"""

from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()


def _region() -> sa.Column[str]:
    return sa.Column(
        "region",
        sa.Text,
        sa.ForeignKey("gis_regions.name", ondelete="CASCADE"),
        nullable=False,
    )


regions = sa.Table(
    "gis_regions",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("srid_metric", sa.Integer, nullable=False),
    sa.Column("bbox", Geometry("POLYGON", srid=4326, spatial_index=False)),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("generation", sa.BigInteger, nullable=False, server_default="1"),
    sa.Column("stats", JSONB, nullable=False, server_default="{}"),
)

jurisdictions = sa.Table(
    "gis_jurisdictions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _region(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("admin_level", sa.Integer, nullable=False),
    sa.Column("names", JSONB, nullable=False, server_default="{}"),
    sa.Column("osm_id", sa.BigInteger),
    sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
)

streets = sa.Table(
    "gis_streets",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    _region(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("names", JSONB, nullable=False, server_default="{}"),
    sa.Column("norm", sa.Text, nullable=False),
    sa.Column("jurisdiction_id", sa.Integer),
    sa.Column("highway", sa.Text),
    sa.Column("geom", Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=False),
)

addresses = sa.Table(
    "gis_addresses",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    _region(),
    sa.Column("street", sa.Text),
    sa.Column("street_norm", sa.Text),
    sa.Column("place", sa.Text),
    sa.Column("housenumber", sa.Text, nullable=False),
    sa.Column("postcode", sa.Text),
    sa.Column("city", sa.Text),
    sa.Column("jurisdiction_id", sa.Integer),
    sa.Column("street_id", sa.BigInteger),
    sa.Column("osm_type", sa.CHAR(1)),
    sa.Column("osm_id", sa.BigInteger),
    sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
)

places = sa.Table(
    "gis_places",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    _region(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("names", JSONB, nullable=False, server_default="{}"),
    sa.Column("norm", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("jurisdiction_id", sa.Integer),
    sa.Column("street", sa.Text),
    sa.Column("housenumber", sa.Text),
    sa.Column("osm_type", sa.CHAR(1)),
    sa.Column("osm_id", sa.BigInteger),
    sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
)

road_vertices = sa.Table(
    "gis_road_vertices",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    _region(),
    sa.Column("osm_node_id", sa.BigInteger),
    sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
)

road_edges = sa.Table(
    "gis_road_edges",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
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
    sa.Column("geom", Geometry("LINESTRING", srid=4326, spatial_index=False), nullable=False),
)

features = sa.Table(
    "gis_features",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    _region(),
    sa.Column("layer", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
)

REGION_TABLES: tuple[sa.Table, ...] = (
    features,
    road_edges,
    road_vertices,
    places,
    addresses,
    streets,
    jurisdictions,
)
"""Tables holding a region's rows, children before parents (the delete order)."""
