"""Run cards changed at run time: ``dispatch_run_cards`` holds one card per incident type code
that overrides the configuration's card of that code (the configuration stays the default; a
removed row brings it back).

Revision ID: 0026_run_cards
Revises: 0025_recordings_stills
"""

from __future__ import annotations

from alembic import op

revision = "0026_run_cards"
down_revision = "0025_recordings_stills"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE dispatch_run_cards (
            type_code text PRIMARY KEY,
            requirements jsonb NOT NULL,
            updated_by text NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE dispatch_run_cards")
