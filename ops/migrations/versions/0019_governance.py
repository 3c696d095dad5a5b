"""Device tokens expire: ``tokens.expires_at`` (NULL for sessions, which expire by idleness).

Tokens issued before this revision get a year from now, rather than never expiring.

Revision ID: 0019_governance
Revises: 0018_signin
"""

from __future__ import annotations

from alembic import op

revision = "0019_governance"
down_revision = "0018_signin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE tokens ADD COLUMN expires_at timestamptz")
    op.execute(
        "UPDATE tokens SET expires_at = now() + interval '365 days' "
        "WHERE kind = 'device' AND revoked_at IS NULL"
    )
    op.execute(
        "ALTER TABLE tokens ADD CONSTRAINT tokens_device_expires "
        "CHECK (kind <> 'device' OR expires_at IS NOT NULL OR revoked_at IS NOT NULL)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE tokens DROP CONSTRAINT tokens_device_expires")
    op.execute("ALTER TABLE tokens DROP COLUMN expires_at")
