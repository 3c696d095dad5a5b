"""The plan tables (SQLAlchemy Core): every plan version with its approval trail, the facts
plans are matched on (casualties, people trapped, hazardous materials), the last match of each
incident, activations with their evacuation and cordon polygons, and the tasks they created.

Every version is kept; at most one version of a plan is approved (a partial unique index).
The foreign keys to ``incidents.id`` exist in the database; ``incidents`` belongs to
``command``, outside this package's metadata, so they are listed by the schema test's
cross-package references instead. The schema is created by the Alembic revision
``0014_plans``, checked by ``tests/integration/ops/test_schema_matches_tables``.
"""

from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

from plans.model import PlanStatus

metadata = sa.MetaData()

STATUSES = ", ".join(repr(s.value) for s in PlanStatus)
TASK_STATUSES = ("open", "done")


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


plan_versions = sa.Table(
    "plan_versions",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("plan_key", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("document", JSONB, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    _at("created_at", nullable=False),
    sa.Column("submitted_by", sa.Text),
    _at("submitted_at"),
    sa.Column("approved_by", sa.Text),
    _at("approved_at"),
    sa.Column("retired_by", sa.Text),
    _at("retired_at"),
    sa.UniqueConstraint("plan_key", "version", name="plan_versions_key_version"),
    sa.CheckConstraint(f"status IN ({STATUSES})", name="plan_versions_status"),
    sa.Index(
        "plan_versions_one_approved",
        "plan_key",
        unique=True,
        postgresql_where=sa.text("status = 'approved'"),
    ),
)

#: one row: bumped whenever the set of approved versions changes, so that every process knows
#: when to rebuild its matching index with one primary-key read
library = sa.Table(
    "plan_library",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True),
    sa.Column("generation", sa.BigInteger, nullable=False),
    sa.CheckConstraint("id = 1", name="plan_library_one_row"),
)

situations = sa.Table(
    "plan_situations",
    metadata,
    sa.Column("incident_id", sa.BigInteger, primary_key=True),
    sa.Column("casualties", sa.Integer, nullable=False, server_default="0"),
    sa.Column("trapped", sa.Integer, nullable=False, server_default="0"),
    sa.Column("hazmat", sa.Boolean, nullable=False, server_default="false"),
    sa.Column("updated_by", sa.Text, nullable=False),
    _at("updated_at", nullable=False),
    sa.CheckConstraint("casualties >= 0 AND trapped >= 0", name="plan_situations_counts"),
)

matches = sa.Table(
    "plan_matches",
    metadata,
    sa.Column("incident_id", sa.BigInteger, primary_key=True),
    sa.Column("version_id", sa.BigInteger, sa.ForeignKey("plan_versions.id"), primary_key=True),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
)

activations = sa.Table(
    "plan_activations",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("incident_id", sa.BigInteger, nullable=False),
    sa.Column("version_id", sa.BigInteger, sa.ForeignKey("plan_versions.id"), nullable=False),
    sa.Column("plan_key", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("stage", sa.SmallInteger, nullable=False),
    sa.Column("activated_by", sa.Text, nullable=False),
    _at("activated_at", nullable=False),
    sa.Column("evacuation", Geometry("POLYGON", srid=4326, spatial_index=False)),
    sa.Column("cordon", Geometry("POLYGON", srid=4326, spatial_index=False)),
    sa.UniqueConstraint("incident_id", "plan_key", name="plan_activations_incident_plan"),
    sa.CheckConstraint("stage >= 1", name="plan_activations_stage"),
)

tasks = sa.Table(
    "plan_tasks",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("activation_id", sa.BigInteger, sa.ForeignKey("plan_activations.id"), nullable=False),
    sa.Column("incident_id", sa.BigInteger, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("names", JSONB, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("department", sa.Text, nullable=False),
    _at("due_at", nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="open"),
    sa.Column("done_by", sa.Text),
    _at("done_at"),
    _at("overdue_alerted_at"),
    sa.CheckConstraint("status IN ('open', 'done')", name="plan_tasks_status"),
    sa.Index("plan_tasks_incident", "incident_id", "seq"),
    sa.Index("plan_tasks_open_due", "due_at", postgresql_where=sa.text("status = 'open'")),
)
