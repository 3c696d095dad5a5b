"""Incidents and dispatch: incidents with calls, narrative, status history and escalations;
stations, units, unit status history and assignments.

No foreign keys to the GIS tables: they are a separate branch and are replaced on re-import.

Revision ID: 0005_incidents_dispatch
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0005_incidents_dispatch"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

UNIT_STATUSES = (
    "available",
    "dispatched",
    "en_route",
    "on_scene",
    "transporting",
    "at_hospital",
    "returning",
    "out_of_service",
)
INCIDENT_STATUSES = (
    "new",
    "dispatched",
    "en_route",
    "on_scene",
    "under_control",
    "closed",
    "cancelled",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _point(name: str, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, Geometry("POINT", srid=4326, spatial_index=False), nullable=nullable)


def upgrade() -> None:
    # ------------------------------------------------------------------ incidents
    op.create_table(
        "incident_numbers",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("number", sa.Text, nullable=False, unique=True),
        sa.Column("type_code", sa.Text, nullable=False),
        sa.Column("priority", sa.SmallInteger, nullable=False),
        sa.Column("response_level", sa.SmallInteger, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("command_level", sa.Text, nullable=False),
        sa.Column("region", sa.Text),
        sa.Column("jurisdiction_id", sa.Integer),
        sa.Column("jurisdiction_name", sa.Text),
        _point("geom", nullable=False),
        sa.Column("address", sa.Text, nullable=False, server_default=""),
        sa.Column("cross_streets", sa.Text, nullable=False, server_default=""),
        sa.Column("caller_name", sa.Text, nullable=False, server_default=""),
        sa.Column("caller_phone", sa.Text, nullable=False, server_default=""),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        sa.Column("merged_into", sa.BigInteger, sa.ForeignKey("incidents.id")),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at", nullable=False),
        _ts("call_answered_at"),
        _ts("dispatched_at"),
        _ts("en_route_at"),
        _ts("on_scene_at"),
        _ts("under_control_at"),
        _ts("closed_at"),
        _ts("cancelled_at"),
        _ts("updated_at", nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.CheckConstraint("priority BETWEEN 1 AND 4", name="incidents_priority"),
        sa.CheckConstraint("response_level BETWEEN 1 AND 4", name="incidents_response_level"),
        sa.CheckConstraint(_in("status", INCIDENT_STATUSES), name="incidents_status"),
        sa.CheckConstraint(
            _in("command_level", ("department", "district", "city")), name="incidents_level"
        ),
    )
    op.execute("CREATE INDEX incidents_geom ON incidents USING gist (geom)")
    op.execute(
        "CREATE INDEX incidents_open ON incidents (created_at) "
        "WHERE status NOT IN ('closed', 'cancelled')"
    )
    op.create_index("incidents_created", "incidents", ["created_at"])
    op.create_table(
        "incident_calls",
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("call_id", sa.Text, primary_key=True),
        _ts("answered_at"),
        sa.Column("caller_phone", sa.Text, nullable=False, server_default=""),
        _ts("linked_at", nullable=False),
        sa.Column("linked_by", sa.Text, nullable=False),
    )
    op.create_index("incident_calls_call", "incident_calls", ["call_id"])
    op.create_table(
        "incident_narrative",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
        _ts("at", nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.CheckConstraint("kind IN ('note', 'system')", name="incident_narrative_kind"),
    )
    op.create_index("incident_narrative_incident", "incident_narrative", ["incident_id", "id"])
    op.execute(
        "CREATE TRIGGER incident_narrative_append_only BEFORE UPDATE OR DELETE "
        "ON incident_narrative FOR EACH ROW EXECUTE FUNCTION cad_append_only()"
    )
    op.create_table(
        "incident_status_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("from_status", sa.Text),
        sa.Column("to_status", sa.Text, nullable=False),
        _ts("at", nullable=False),
        sa.Column("actor", sa.Text),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
    )
    op.create_index(
        "incident_status_history_incident", "incident_status_history", ["incident_id", "id"]
    )
    op.create_table(
        "incident_escalations",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("from_value", sa.Text, nullable=False),
        sa.Column("to_value", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        _ts("at", nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.CheckConstraint(
            "kind IN ('command_level', 'response_level')", name="incident_escalations_kind"
        ),
    )
    op.create_index("incident_escalations_incident", "incident_escalations", ["incident_id"])

    # ------------------------------------------------------------------ dispatch
    op.create_table(
        "dispatch_stations",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("region", sa.Text),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("names", JSONB, nullable=False, server_default="{}"),
        sa.Column("source", sa.Text),
        _point("geom", nullable=False),
        _ts("created_at", nullable=False),
    )
    op.alter_column("dispatch_stations", "created_at", server_default=sa.func.now())
    op.create_table(
        "dispatch_units",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("callsign", sa.Text, nullable=False, unique=True),
        sa.Column("unit_type", sa.Text, nullable=False),
        sa.Column("station_id", sa.Text, sa.ForeignKey("dispatch_stations.id")),
        sa.Column("capabilities", ARRAY(sa.Text), nullable=False),
        sa.Column("crew", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        _ts("status_since", nullable=False),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id")),
        _ts("acknowledged_at"),
        _point("fix", nullable=True),
        _ts("fix_at"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        _ts("created_at", nullable=False),
        sa.CheckConstraint("crew >= 0", name="dispatch_units_crew"),
        sa.CheckConstraint(_in("status", UNIT_STATUSES), name="dispatch_units_status"),
    )
    op.alter_column("dispatch_units", "created_at", server_default=sa.func.now())
    op.create_index("dispatch_units_station", "dispatch_units", ["station_id"])
    op.create_table(
        "dispatch_unit_status_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("unit_id", sa.Text, sa.ForeignKey("dispatch_units.id"), nullable=False),
        sa.Column("from_status", sa.Text, nullable=False),
        sa.Column("to_status", sa.Text, nullable=False),
        _ts("at", nullable=False),
        sa.Column("incident_id", sa.BigInteger),
        sa.Column("actor", sa.Text),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
    )
    op.create_index(
        "dispatch_unit_status_history_unit", "dispatch_unit_status_history", ["unit_id", "id"]
    )
    op.create_table(
        "dispatch_assignments",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("unit_id", sa.Text, sa.ForeignKey("dispatch_units.id"), nullable=False),
        _ts("assigned_at", nullable=False),
        sa.Column("assigned_by", sa.Text, nullable=False),
        _ts("acknowledged_at"),
        _ts("en_route_at"),
        _ts("on_scene_at"),
        _ts("transporting_at"),
        _ts("at_hospital_at"),
        _ts("ended_at"),
        sa.Column("end_reason", sa.Text),
    )
    op.create_index("dispatch_assignments_incident", "dispatch_assignments", ["incident_id"])
    # A unit works on one incident at a time.
    op.execute(
        "CREATE UNIQUE INDEX dispatch_assignments_one_open ON dispatch_assignments (unit_id) "
        "WHERE ended_at IS NULL"
    )


def downgrade() -> None:
    for table in (
        "dispatch_assignments",
        "dispatch_unit_status_history",
        "dispatch_units",
        "dispatch_stations",
        "incident_escalations",
        "incident_status_history",
        "incident_narrative",
        "incident_calls",
        "incidents",
        "incident_numbers",
    ):
        op.drop_table(table)
