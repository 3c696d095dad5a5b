"""Unit terminals and trackers: idempotency keys of terminal messages, tracker bindings.

Revision ID: 0012_unit_terminals
Revises: 0011_audit_after_commit
"""

from __future__ import annotations

from alembic import op

revision = "0012_unit_terminals"
down_revision = "0011_audit_after_commit"
branch_labels = None
# The bindings reference dispatch_units.
depends_on = "0005_incidents_dispatch"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE tracking_terminal_keys (
            device text NOT NULL,
            key text NOT NULL,
            kind text NOT NULL,
            answer jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT tracking_terminal_keys_pkey PRIMARY KEY (device, key)
        )
        """
    )
    op.execute("CREATE INDEX tracking_terminal_keys_age ON tracking_terminal_keys (created_at)")
    op.execute(
        """
        CREATE TABLE tracking_device_bindings (
            device_id text PRIMARY KEY,
            unit_id text NOT NULL REFERENCES dispatch_units (id),
            bound_by text NOT NULL,
            bound_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX tracking_device_bindings_unit ON tracking_device_bindings (unit_id)")


def downgrade() -> None:
    op.execute("DROP TABLE tracking_device_bindings")
    op.execute("DROP TABLE tracking_terminal_keys")
