"""The GIS tables (SQLAlchemy Core): imported OSM regions, their streets, addresses, places,
jurisdictions, the routable road graph, the basemap features, custom zones and the stations'
first-due areas.

Every row belongs to a region (``gis_regions.name``); re-importing a region replaces all its rows
in one transaction. The schema is made by the Alembic revisions ``0002_gis``,
``0004_gis_routing`` and ``0008_gis_redundant_indexes``; these definitions say the same (every
index under the migration's name, gist on each geometry), checked by
``tests/integration/ops/test_schema_matches_tables``.
"""

from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

# Vertex ids come from one sequence, so that several regions share one graph id space; the
# importer reserves a block of ids from it for each region.
road_vertex_ids = sa.Sequence("gis_road_vertices_id_seq", metadata=metadata)


def _region() -> sa.Column[str]:
    return sa.Column(
        "region",
        sa.Text,
        sa.ForeignKey("gis_regions.name", ondelete="CASCADE"),
        nullable=False,
    )


def _geom(kind: str) -> sa.Column[object]:
    return sa.Column("geom", Geometry(kind, srid=4326, spatial_index=False), nullable=False)


def _jurisdiction() -> sa.Column[int]:
    return sa.Column(
        "jurisdiction_id", sa.Integer, sa.ForeignKey("gis_jurisdictions.id", ondelete="SET NULL")
    )


def _gist(table: str) -> sa.Index:
    return sa.Index(f"{table}_geom", "geom", postgresql_using="gist")


def _by_region(table: str) -> sa.Index:
    return sa.Index(f"{table}_region", "region")


def _by_jurisdiction(table: str) -> sa.Index:
    """Deleting a jurisdiction finds the rows that refer to it through this."""
    return sa.Index(f"{table}_jurisdiction", "jurisdiction_id")


def _trigram(table: str) -> sa.Index:
    """Fuzzy name search (``%``, ``similarity``) on the normalised name."""
    return sa.Index(
        f"{table}_norm_trgm",
        "norm",
        postgresql_using="gin",
        postgresql_ops={"norm": "gin_trgm_ops"},
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
    sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
    _region(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("admin_level", sa.Integer, nullable=False),
    sa.Column("names", JSONB, nullable=False, server_default="{}"),
    sa.Column("osm_id", sa.BigInteger),
    _geom("MULTIPOLYGON"),
    _gist("gis_jurisdictions"),
    _by_region("gis_jurisdictions"),
)

streets = sa.Table(
    "gis_streets",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    _region(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("names", JSONB, nullable=False, server_default="{}"),
    sa.Column("norm", sa.Text, nullable=False),
    _jurisdiction(),
    sa.Column("highway", sa.Text),
    _geom("MULTILINESTRING"),
    _gist("gis_streets"),
    _by_region("gis_streets"),
    _by_jurisdiction("gis_streets"),
    _trigram("gis_streets"),
)

addresses = sa.Table(
    "gis_addresses",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    _region(),
    sa.Column("street", sa.Text),
    sa.Column("street_norm", sa.Text),
    sa.Column("place", sa.Text),
    sa.Column("housenumber", sa.Text, nullable=False),
    sa.Column("postcode", sa.Text),
    sa.Column("city", sa.Text),
    _jurisdiction(),
    sa.Column("street_id", sa.BigInteger, sa.ForeignKey("gis_streets.id", ondelete="SET NULL")),
    sa.Column("osm_type", sa.CHAR(1)),
    sa.Column("osm_id", sa.BigInteger),
    _geom("POINT"),
    _gist("gis_addresses"),
    # Also the index by region.
    sa.Index("gis_addresses_street_number", "region", "street_norm", "housenumber"),
    sa.Index("gis_addresses_street_id", "street_id"),
    _by_jurisdiction("gis_addresses"),
)

places = sa.Table(
    "gis_places",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    _region(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("names", JSONB, nullable=False, server_default="{}"),
    sa.Column("norm", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    _jurisdiction(),
    sa.Column("street", sa.Text),
    sa.Column("housenumber", sa.Text),
    sa.Column("osm_type", sa.CHAR(1)),
    sa.Column("osm_id", sa.BigInteger),
    _geom("POINT"),
    _gist("gis_places"),
    _by_region("gis_places"),
    _by_jurisdiction("gis_places"),
    _trigram("gis_places"),
)

road_vertices = sa.Table(
    "gis_road_vertices",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger,
        road_vertex_ids,
        server_default=road_vertex_ids.next_value(),
        primary_key=True,
    ),
    _region(),
    sa.Column("osm_node_id", sa.BigInteger),
    _geom("POINT"),
    _gist("gis_road_vertices"),
    _by_region("gis_road_vertices"),
)

road_edges = sa.Table(
    "gis_road_edges",
    metadata,
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
    _gist("gis_road_edges"),
    _by_region("gis_road_edges"),
    sa.Index("gis_road_edges_source", "source"),
    sa.Index("gis_road_edges_target", "target"),
)

features = sa.Table(
    "gis_features",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    _region(),
    sa.Column("layer", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("name", sa.Text),
    _geom("GEOMETRY"),
    _gist("gis_features"),
    sa.Index("gis_features_layer", "region", "layer"),  # also the index by region
)

zones = sa.Table(
    "gis_zones",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    _region(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    _geom("MULTIPOLYGON"),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.CheckConstraint("ST_IsValid(geom)", name="gis_zones_valid"),
    sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name="gis_zones_name"),
    sa.Index("gis_zones_geom", "geom", postgresql_using="gist"),
    sa.Index("gis_zones_region_name", "region", "name", unique=True),
)

first_due = sa.Table(
    "gis_first_due",
    metadata,
    _region(),
    sa.Column("station", sa.Text, nullable=False),
    sa.Column("max_seconds", sa.Float, nullable=False),
    _geom("MULTIPOLYGON"),
    sa.Column(
        "computed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.PrimaryKeyConstraint("region", "station"),
    sa.Index("gis_first_due_geom", "geom", postgresql_using="gist"),
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
