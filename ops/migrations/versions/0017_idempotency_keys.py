"""Idempotency keys: the first answer to a state-changing request, kept for its retries.

Revision ID: 0017_idempotency_keys
Revises: 0016_telephony
"""

from __future__ import annotations

from alembic import op

revision = "0017_idempotency_keys"
down_revision = "0016_telephony"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE idempotency_keys (
            actor text NOT NULL,
            key text NOT NULL,
            fingerprint text NOT NULL,
            created_at timestamptz NOT NULL,
            status integer,
            body bytea,
            content_type text,
            PRIMARY KEY (actor, key)
        )
        """
    )
    op.execute("CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at)")


def downgrade() -> None:
    op.execute("DROP TABLE idempotency_keys")
