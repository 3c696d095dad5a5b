"""Calls: indexes for the two queries that otherwise read every call ever taken.

The seat and queue statistics (``GET /api/v1/telephony/statistics``, the last 24 hours by
default) select calls by ``queued_at`` alone, and no index leads with it; offering waiting text
and alarm reports to a free seat looks for ``state = 'queued' AND kind <> 'voice'`` each time a
seat frees up. Both were sequential scans of the whole ``calls`` table, which only grows. The
partial index holds only the few reports that are waiting.

Revision ID: 0007_call_indexes
Revises: 0003_telephony
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_call_indexes"
down_revision = "0003_telephony"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("calls_queued", "calls", ["queued_at"])
    op.create_index(
        "calls_reports_waiting",
        "calls",
        ["queued_at"],
        postgresql_where=sa.text("state = 'queued' AND kind <> 'voice'"),
    )


def downgrade() -> None:
    op.drop_index("calls_reports_waiting", "calls")
    op.drop_index("calls_queued", "calls")
