"""Breadcrumbs: ``unit_positions`` partitioned by device time (one partition per day, created
ahead by the maintenance task, a default partition for outliers), and ``incident_tracks``, the
positions of units on incidents kept past the positions' retention.

Revision ID: 0013_unit_positions
Revises: 0012_unit_terminals
"""

from __future__ import annotations

from alembic import op

revision = "0013_unit_positions"
down_revision = "0012_unit_terminals"
branch_labels = None
depends_on = ("0005_incidents_dispatch",)  # incidents, dispatch_units, assignments

COLUMNS = """
    unit_id text NOT NULL,
    device_time timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    geom geometry(POINT, 4326) NOT NULL,
    accuracy_m real,
    speed_mps real,
    heading_deg real,
    altitude_m real,
    battery_pct real,
    source text NOT NULL,
    jump boolean NOT NULL DEFAULT false,
    seq bigint"""


def upgrade() -> None:
    op.execute(
        f"CREATE TABLE unit_positions ({COLUMNS},\n"
        "    CONSTRAINT unit_positions_pkey PRIMARY KEY (unit_id, device_time)\n"
        ") PARTITION BY RANGE (device_time)"
    )
    op.execute("CREATE TABLE unit_positions_default PARTITION OF unit_positions DEFAULT")
    op.execute(
        f"CREATE TABLE incident_tracks (incident_id bigint NOT NULL,{COLUMNS},\n"
        "    CONSTRAINT incident_tracks_pkey PRIMARY KEY (incident_id, unit_id, device_time),\n"
        "    CONSTRAINT incident_tracks_incident_id_fkey FOREIGN KEY (incident_id)\n"
        "        REFERENCES incidents (id) ON DELETE CASCADE\n"
        ")"
    )
    op.execute("CREATE INDEX incident_tracks_unit ON incident_tracks (unit_id, device_time)")


def downgrade() -> None:
    op.execute("DROP TABLE incident_tracks")
    op.execute("DROP TABLE unit_positions")
