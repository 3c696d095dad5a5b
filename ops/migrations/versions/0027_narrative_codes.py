"""The server's own narrative entries carry a code and parameters beside their English text, so
that a console words them in its language: ``incident_narrative.code`` (NULL for people's notes
and for the entries written before) and ``incident_narrative.params`` (``{}`` for those).

Revision ID: 0027_narrative_codes
Revises: 0026_run_cards
"""

from __future__ import annotations

from alembic import op

revision = "0027_narrative_codes"
down_revision = "0026_run_cards"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A column with a constant default is added without rewriting the rows (and so without
    # touching the append-only trigger, which guards updates of rows).
    op.execute("ALTER TABLE incident_narrative ADD COLUMN code text")
    op.execute("ALTER TABLE incident_narrative ADD COLUMN params jsonb NOT NULL DEFAULT '{}'")


def downgrade() -> None:
    op.execute("ALTER TABLE incident_narrative DROP COLUMN params")
    op.execute("ALTER TABLE incident_narrative DROP COLUMN code")
