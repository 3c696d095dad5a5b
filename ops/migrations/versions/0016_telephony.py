"""Call backs are calls: ``calls.kind`` may be ``outbound``.

Revision ID: 0016_telephony
Revises: 0011_audit_after_commit (and needs 0007_call_indexes)
"""

from __future__ import annotations

from alembic import op

revision = "0016_telephony"
down_revision = "0011_audit_after_commit"
branch_labels = None
depends_on = "0007_call_indexes"  # the calls table of the telephony branch


def upgrade() -> None:
    op.execute("ALTER TABLE calls DROP CONSTRAINT calls_kind")
    op.execute(
        "ALTER TABLE calls ADD CONSTRAINT calls_kind "
        "CHECK (kind IN ('voice', 'sms', 'alarm', 'outbound'))"
    )


def downgrade() -> None:
    op.execute("DELETE FROM calls WHERE kind = 'outbound'")
    op.execute("ALTER TABLE calls DROP CONSTRAINT calls_kind")
    op.execute(
        "ALTER TABLE calls ADD CONSTRAINT calls_kind CHECK (kind IN ('voice', 'sms', 'alarm'))"
    )
