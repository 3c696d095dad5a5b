"""Tables owned by ``telephony``: calls and their transitions, seats, sessions and pauses,
recording references, text/alarm reports, and pushed caller locations.

The schema is made by the Alembic revisions ``0003_telephony`` and ``0007_call_indexes``; these
definitions say the same, checked by ``tests/integration/ops/test_schema_matches_tables``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from telephony.calls import CallKind, CallState

metadata = MetaData()


def _in(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def _at(name: str, nullable: bool = True) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


calls = Table(
    "calls",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("queue", Text, nullable=False),
    Column("number", Text),
    Column("name", Text),
    Column("seat", Text),
    Column("channel", Text),
    Column("linkedid", Text),
    Column("agent_channel", Text),
    Column("position", Integer),
    _at("queued_at", nullable=False),
    _at("offered_at"),
    _at("answered_at"),
    _at("completed_at"),
    _at("abandoned_at"),
    _at("transferred_at"),
    _at("ended_at"),
    Column("hold_time", Float),
    Column("talk_time", Float),
    Column("ring_time", Float),
    Column("hangup_cause", Integer),
    Column("complete_reason", Text),
    Column("transfer_target", Text),
    Column("recovered", Boolean, nullable=False, server_default="false"),
    _at("updated_at", nullable=False),
    CheckConstraint(_in("kind", CallKind), name="calls_kind"),
    CheckConstraint(_in("state", CallState), name="calls_state"),
    Index("calls_number_queued", "number", "queued_at"),
    Index("calls_seat_queued", "seat", "queued_at"),
    Index("calls_queued", "queued_at"),
    # Text and alarm reports waiting for a free seat: few rows, looked for at every free seat.
    Index(
        "calls_reports_waiting",
        "queued_at",
        postgresql_where=text("state = 'queued' AND kind <> 'voice'"),
    ),
)

call_transitions = Table(
    "call_transitions",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("call_id", Text, ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
    Column("from_state", Text),
    Column("to_state", Text, nullable=False),
    _at("at", nullable=False),
    Column("seat", Text),
    Column("detail", JSONB, nullable=False),
    Index("call_transitions_call", "call_id", "id"),
)

seats = Table(
    "seats",
    metadata,
    Column("interface", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("queues", ARRAY(Text), nullable=False),
    Column("paused", Boolean, nullable=False, server_default="false"),
    Column("pause_reason", Text),
    Column("call_id", Text),
    Column("ringing_call_id", Text),
    Column("username", Text),
    _at("signed_in_at"),
    _at("paused_at"),
    _at("updated_at", nullable=False),
)

seat_sessions = Table(
    "seat_sessions",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("interface", Text, nullable=False),
    Column("username", Text),
    _at("signed_in_at", nullable=False),
    _at("signed_out_at"),
    Index("seat_sessions_open", "interface", "signed_out_at"),
)

seat_pauses = Table(
    "seat_pauses",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("interface", Text, nullable=False),
    Column("reason", Text),
    _at("started_at", nullable=False),
    _at("ended_at"),
    Index("seat_pauses_open", "interface", "ended_at"),
)

recordings = Table(
    "recordings",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("call_id", Text, ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
    Column("file", Text, nullable=False),
    _at("started_at", nullable=False),
    _at("stopped_at"),
    Column("started_by", Text, nullable=False),
    Index("recordings_call", "call_id"),
)

reports = Table(
    "reports",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("call_id", Text, ForeignKey("calls.id"), nullable=False, unique=True),
    Column("external_id", Text),
    Column("sender", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("source", Text),
    Column("lat", Float),
    Column("lon", Float),
    Column("address", Text),
    Column("payload", JSONB, nullable=False),
    _at("received_at", nullable=False),
    Column("received_by", Text, nullable=False),
    CheckConstraint("kind IN ('sms', 'alarm')", name="reports_kind"),
    # A gateway retrying the same report finds the first one.
    Index(
        "reports_external",
        "kind",
        "external_id",
        unique=True,
        postgresql_where=text("external_id IS NOT NULL"),
    ),
)

caller_locations = Table(
    "caller_locations",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("number", Text, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("accuracy_m", Float),
    Column("source", Text, nullable=False),
    _at("at", nullable=False),
    CheckConstraint(
        "lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="caller_locations_range"
    ),
    Index("caller_locations_number", "number", "at"),
)
