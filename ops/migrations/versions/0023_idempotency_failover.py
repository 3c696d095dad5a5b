"""Idempotency keys that survive a failover: whether the first attempt's change committed
(``done_at``, set in the change's own transaction) and the timeline of the primary that took
the claim (``timeline``: a promoted standby starts a new one).

Revision ID: 0023_idempotency_failover
Revises: 0022_audit_guard
"""

from __future__ import annotations

from alembic import op

revision = "0023_idempotency_failover"
down_revision = "0022_audit_guard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE idempotency_keys ADD COLUMN done_at timestamptz, ADD COLUMN timeline integer"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE idempotency_keys DROP COLUMN done_at, DROP COLUMN timeline")
