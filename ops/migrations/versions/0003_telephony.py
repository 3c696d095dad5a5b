"""Telephony: calls and transitions, seats, seat sessions and pauses, recordings, text and
alarm reports, pushed caller locations.

Revision ID: 0003_telephony
Revises: 0001_foundation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0003_telephony"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("queue", sa.Text, nullable=False),
        sa.Column("number", sa.Text),
        sa.Column("name", sa.Text),
        sa.Column("seat", sa.Text),
        sa.Column("channel", sa.Text),
        sa.Column("linkedid", sa.Text),
        sa.Column("agent_channel", sa.Text),
        sa.Column("position", sa.Integer),
        _at("queued_at", nullable=False),
        _at("offered_at"),
        _at("answered_at"),
        _at("completed_at"),
        _at("abandoned_at"),
        _at("transferred_at"),
        _at("ended_at"),
        sa.Column("hold_time", sa.Float),
        sa.Column("talk_time", sa.Float),
        sa.Column("ring_time", sa.Float),
        sa.Column("hangup_cause", sa.Integer),
        sa.Column("complete_reason", sa.Text),
        sa.Column("transfer_target", sa.Text),
        sa.Column("recovered", sa.Boolean, nullable=False, server_default="false"),
        _at("updated_at", nullable=False),
        sa.CheckConstraint("kind IN ('voice', 'sms', 'alarm')", name="calls_kind"),
        sa.CheckConstraint(
            "state IN ('queued', 'offered', 'answered', 'completed', 'abandoned', "
            "'transferred', 'ended')",
            name="calls_state",
        ),
    )
    op.create_index("calls_number_queued", "calls", ["number", "queued_at"])
    op.create_index("calls_seat_queued", "calls", ["seat", "queued_at"])
    op.create_table(
        "call_transitions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "call_id", sa.Text, sa.ForeignKey("calls.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("from_state", sa.Text),
        sa.Column("to_state", sa.Text, nullable=False),
        _at("at", nullable=False),
        sa.Column("seat", sa.Text),
        sa.Column("detail", JSONB, nullable=False),
    )
    op.create_index("call_transitions_call", "call_transitions", ["call_id", "id"])
    op.create_table(
        "seats",
        sa.Column("interface", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("queues", ARRAY(sa.Text), nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("pause_reason", sa.Text),
        sa.Column("call_id", sa.Text),
        sa.Column("ringing_call_id", sa.Text),
        sa.Column("username", sa.Text),
        _at("signed_in_at"),
        _at("paused_at"),
        _at("updated_at", nullable=False),
    )
    op.create_table(
        "seat_sessions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("interface", sa.Text, nullable=False),
        sa.Column("username", sa.Text),
        _at("signed_in_at", nullable=False),
        _at("signed_out_at"),
    )
    op.create_index("seat_sessions_open", "seat_sessions", ["interface", "signed_out_at"])
    op.create_table(
        "seat_pauses",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("interface", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        _at("started_at", nullable=False),
        _at("ended_at"),
    )
    op.create_index("seat_pauses_open", "seat_pauses", ["interface", "ended_at"])
    op.create_table(
        "recordings",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "call_id", sa.Text, sa.ForeignKey("calls.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("file", sa.Text, nullable=False),
        _at("started_at", nullable=False),
        _at("stopped_at"),
        sa.Column("started_by", sa.Text, nullable=False),
    )
    op.create_index("recordings_call", "recordings", ["call_id"])
    op.create_table(
        "reports",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("call_id", sa.Text, sa.ForeignKey("calls.id"), nullable=False, unique=True),
        sa.Column("external_id", sa.Text),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("address", sa.Text),
        sa.Column("payload", JSONB, nullable=False),
        _at("received_at", nullable=False),
        sa.Column("received_by", sa.Text, nullable=False),
        sa.CheckConstraint("kind IN ('sms', 'alarm')", name="reports_kind"),
    )
    op.create_index(
        "reports_external", "reports", ["kind", "external_id"], unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.create_table(
        "caller_locations",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("accuracy_m", sa.Float),
        sa.Column("source", sa.Text, nullable=False),
        _at("at", nullable=False),
        sa.CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180",
                           name="caller_locations_range"),
    )
    op.create_index("caller_locations_number", "caller_locations", ["number", "at"])


def downgrade() -> None:
    for table in ("caller_locations", "reports", "recordings", "seat_pauses", "seat_sessions",
                  "seats", "call_transitions", "calls"):
        op.drop_table(table)
