"""Sensitive incidents: the marking that limits who may read an incident.

Revision ID: 0020_sensitive_incidents
Revises: 0019_governance
"""

from __future__ import annotations

from alembic import op

revision = "0020_sensitive_incidents"
down_revision = "0019_governance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE incident_sensitivity (
            incident_id bigint PRIMARY KEY REFERENCES incidents (id),
            reason text NOT NULL,
            roles text[] NOT NULL,
            users text[] NOT NULL,
            marked_by text NOT NULL,
            marked_at timestamptz NOT NULL,
            CONSTRAINT incident_sensitivity_reason CHECK (
                reason IN ('vip', 'domestic_violence', 'officer_involved', 'other')
            )
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE incident_sensitivity")
