"""The dispatch tables (SQLAlchemy Core): stations, units, unit status history, assignments,
run cards changed at run time (revision ``0026_run_cards``).

Units are versioned rows: every update says ``WHERE id = :id AND version = :v`` and bumps the
version, so of two dispatchers changing the same unit at once exactly one wins. A unit has at most
one open assignment (a partial unique index backs this up).

``dispatch_units.incident_id`` and ``dispatch_assignments.incident_id`` have foreign keys to
``incidents.id`` in the database; ``incidents`` belongs to ``command``, outside this package's
metadata, so they are not declared here: the schema test checks them from its own list of
cross-package references. The schema is created by the Alembic revision
``0005_incidents_dispatch``; these definitions say the same, checked by
``tests/integration/ops/test_schema_matches_tables``.
"""

from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from dispatch.units import UnitStatus

metadata = sa.MetaData()


def _now() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


stations = sa.Table(
    "dispatch_stations",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("region", sa.Text),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("names", JSONB, nullable=False, server_default="{}"),
    sa.Column("source", sa.Text),
    sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    _now(),
)

units = sa.Table(
    "dispatch_units",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("callsign", sa.Text, nullable=False, unique=True),
    sa.Column("unit_type", sa.Text, nullable=False),
    sa.Column("station_id", sa.Text, sa.ForeignKey("dispatch_stations.id")),
    sa.Column("capabilities", ARRAY(sa.Text), nullable=False),
    sa.Column("crew", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("status_since", sa.DateTime(timezone=True), nullable=False),
    sa.Column("incident_id", sa.BigInteger),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
    sa.Column("fix", Geometry("POINT", srid=4326, spatial_index=False)),
    sa.Column("fix_at", sa.DateTime(timezone=True)),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    _now(),
    sa.CheckConstraint("crew >= 0", name="dispatch_units_crew"),
    sa.CheckConstraint(
        f"status IN ({', '.join(repr(str(s)) for s in UnitStatus)})",
        name="dispatch_units_status",
    ),
    sa.Index("dispatch_units_station", "station_id"),
)

unit_status_history = sa.Table(
    "dispatch_unit_status_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("unit_id", sa.Text, sa.ForeignKey("dispatch_units.id"), nullable=False),
    sa.Column("from_status", sa.Text, nullable=False),
    sa.Column("to_status", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("incident_id", sa.BigInteger),
    sa.Column("actor", sa.Text),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Index("dispatch_unit_status_history_unit", "unit_id", "id"),
)

assignments = sa.Table(
    "dispatch_assignments",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("incident_id", sa.BigInteger, nullable=False),
    sa.Column("unit_id", sa.Text, sa.ForeignKey("dispatch_units.id"), nullable=False),
    sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("assigned_by", sa.Text, nullable=False),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
    sa.Column("en_route_at", sa.DateTime(timezone=True)),
    sa.Column("on_scene_at", sa.DateTime(timezone=True)),
    sa.Column("transporting_at", sa.DateTime(timezone=True)),
    sa.Column("at_hospital_at", sa.DateTime(timezone=True)),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("end_reason", sa.Text),
    sa.Index("dispatch_assignments_incident", "incident_id"),
    # A unit works on one incident at a time.
    sa.Index(
        "dispatch_assignments_one_open",
        "unit_id",
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    ),
)


# Run cards changed at run time: one row per incident type code overrides the configuration's
# card of that code (``dispatch.runcards.RunCards.with_overrides``); removing the row brings the
# configured default back. ``requirements`` is capability name -> count.
run_cards = sa.Table(
    "dispatch_run_cards",
    metadata,
    sa.Column("type_code", sa.Text, primary_key=True),
    sa.Column("requirements", JSONB, nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


def _breadcrumb_columns() -> list[sa.Column[object]]:
    """The columns of a stored fix (``dispatch.avl.fixes.Fix``), shared by both tables."""
    return [
        sa.Column("unit_id", sa.Text, nullable=False),
        sa.Column("device_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("accuracy_m", sa.REAL),
        sa.Column("speed_mps", sa.REAL),
        sa.Column("heading_deg", sa.REAL),
        sa.Column("altitude_m", sa.REAL),
        sa.Column("battery_pct", sa.REAL),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("jump", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("seq", sa.BigInteger),
    ]


# Breadcrumbs: every accepted fix, partitioned by device time, one partition per day
# (``dispatch.avl.partitions``). The primary key (unit, device time) is the index one unit's
# time-window read walks, and it stores a replayed fix once. No spatial index: playback reads
# by unit and time, and a GiST index on every point would cost each insert. No foreign key to
# the unit either: fixes come only for bound devices, and the lookup would cost each insert.
positions = sa.Table(
    "unit_positions",
    metadata,
    *_breadcrumb_columns(),
    sa.PrimaryKeyConstraint("unit_id", "device_time", name="unit_positions_pkey"),
    postgresql_partition_by="RANGE (device_time)",
)

# The breadcrumbs of units while they worked an incident, copied out of a day's partition
# before retention drops it, and kept for as long as the incident's record (a foreign key to
# ``incidents.id`` with ON DELETE CASCADE, listed as a cross-package reference).
incident_tracks = sa.Table(
    "incident_tracks",
    metadata,
    sa.Column("incident_id", sa.BigInteger, nullable=False),
    *_breadcrumb_columns(),
    sa.PrimaryKeyConstraint("incident_id", "unit_id", "device_time", name="incident_tracks_pkey"),
    # a unit's playback reads here too, once retention dropped the day
    sa.Index("incident_tracks_unit", "unit_id", "device_time"),
)
