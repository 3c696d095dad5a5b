"""Contingency plans: versions with their approval trail, the facts plans match on, the last
match per incident, activations (evacuation and cordon polygons) and their tasks.

Revision ID: 0014_plans
Revises: 0013_unit_positions (and needs 0005_incidents_dispatch)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0014_plans"
down_revision = "0013_unit_positions"
branch_labels = None
depends_on = "0005_incidents_dispatch"  # the incidents its rows refer to


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _polygon(name: str) -> sa.Column[object]:
    return sa.Column(name, Geometry("POLYGON", srid=4326, spatial_index=False))


def upgrade() -> None:
    op.create_table(
        "plan_versions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("plan_key", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        _ts("created_at", nullable=False),
        sa.Column("submitted_by", sa.Text),
        _ts("submitted_at"),
        sa.Column("approved_by", sa.Text),
        _ts("approved_at"),
        sa.Column("retired_by", sa.Text),
        _ts("retired_at"),
        sa.UniqueConstraint("plan_key", "version", name="plan_versions_key_version"),
        sa.CheckConstraint(
            "status IN ('draft', 'in_review', 'approved', 'retired')", name="plan_versions_status"
        ),
    )
    op.execute(
        "CREATE UNIQUE INDEX plan_versions_one_approved ON plan_versions (plan_key) "
        "WHERE status = 'approved'"
    )
    op.create_table(
        "plan_library",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1", name="plan_library_one_row"),
    )
    op.execute("INSERT INTO plan_library (id, generation) VALUES (1, 0)")
    op.create_table(
        "plan_situations",
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("casualties", sa.Integer, nullable=False, server_default="0"),
        sa.Column("trapped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("hazmat", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("updated_by", sa.Text, nullable=False),
        _ts("updated_at", nullable=False),
        sa.CheckConstraint("casualties >= 0 AND trapped >= 0", name="plan_situations_counts"),
    )
    op.create_table(
        "plan_matches",
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("version_id", sa.BigInteger, sa.ForeignKey("plan_versions.id"), primary_key=True),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
    )
    op.create_table(
        "plan_activations",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("version_id", sa.BigInteger, sa.ForeignKey("plan_versions.id"), nullable=False),
        sa.Column("plan_key", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("stage", sa.SmallInteger, nullable=False),
        sa.Column("activated_by", sa.Text, nullable=False),
        _ts("activated_at", nullable=False),
        _polygon("evacuation"),
        _polygon("cordon"),
        sa.UniqueConstraint("incident_id", "plan_key", name="plan_activations_incident_plan"),
        sa.CheckConstraint("stage >= 1", name="plan_activations_stage"),
    )
    op.create_table(
        "plan_tasks",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "activation_id",
            sa.BigInteger,
            sa.ForeignKey("plan_activations.id"),
            nullable=False,
        ),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("names", JSONB, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("department", sa.Text, nullable=False),
        _ts("due_at", nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("done_by", sa.Text),
        _ts("done_at"),
        _ts("overdue_alerted_at"),
        sa.CheckConstraint("status IN ('open', 'done')", name="plan_tasks_status"),
    )
    op.create_index("plan_tasks_incident", "plan_tasks", ["incident_id", "seq"])
    op.execute("CREATE INDEX plan_tasks_open_due ON plan_tasks (due_at) WHERE status = 'open'")


def downgrade() -> None:
    for table in ("plan_tasks", "plan_activations", "plan_matches", "plan_situations"):
        op.drop_table(table)
    op.drop_table("plan_library")
    op.drop_table("plan_versions")
