"""The consultation tables (SQLAlchemy Core): consultations, their participants and role
invitations, and the files attached to incidents.

Created by the Alembic revisions ``0024_consultations`` and ``0025_recordings_stills``; these
definitions say the same, checked by ``tests/integration/ops/test_schema_matches_tables``. The
references to ``incidents`` are declared there (they cross packages); room numbers come from
the ``consultation_rooms`` sequence, which lives only in the migration.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


consultations = sa.Table(
    "consultations",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("incident_id", sa.BigInteger, index=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("room", sa.BigInteger, nullable=False),
    sa.Column("bitrate_kbps", sa.Integer, nullable=False),
    _at("created_at", nullable=False),
    _at("ended_at"),
    sa.Column("ended_by", sa.Text),
    _at("recording_since"),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.CheckConstraint("state IN ('open', 'ended')", name="consultations_state"),
    sa.UniqueConstraint("room", name="consultations_room"),
    sa.Index("consultations_incident", "incident_id"),
)

participants = sa.Table(
    "consultation_participants",
    metadata,
    sa.Column(
        "consultation_id", sa.BigInteger, sa.ForeignKey("consultations.id"), primary_key=True
    ),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("invited_by", sa.Text, nullable=False),
    _at("invited_at", nullable=False),
    sa.Column("via_role", sa.Text),
    _at("joined_at"),
    _at("left_at"),
    sa.Column("left_reason", sa.Text, nullable=False, server_default=""),
    sa.Column("audio_muted", sa.Boolean, nullable=False, server_default="false"),
    sa.Column("video_muted", sa.Boolean, nullable=False, server_default="false"),
    sa.Column("joins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("bitrate_kbps", sa.Integer),
    sa.CheckConstraint("kind IN ('user', 'unit')", name="consultation_participants_kind"),
    sa.CheckConstraint("role IN ('host', 'member')", name="consultation_participants_role"),
    sa.CheckConstraint(
        "state IN ('invited', 'joined', 'left', 'removed')",
        name="consultation_participants_state",
    ),
    sa.Index("consultation_participants_member", "kind", "name"),
)

invitations = sa.Table(
    "consultation_invitations",
    metadata,
    sa.Column(
        "consultation_id", sa.BigInteger, sa.ForeignKey("consultations.id"), primary_key=True
    ),
    sa.Column("role", sa.Text, primary_key=True),
    sa.Column("invited_by", sa.Text, nullable=False),
    _at("invited_at", nullable=False),
)

attachments = sa.Table(
    "incident_attachments",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("incident_id", sa.BigInteger, nullable=False),
    sa.Column("consultation_id", sa.BigInteger, sa.ForeignKey("consultations.id")),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("media_type", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("width", sa.Integer),
    sa.Column("height", sa.Integer),
    sa.Column("duration_s", sa.Float),
    sa.Column("created_by", sa.Text, nullable=False),
    _at("created_at", nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("member", sa.Text),
    sa.CheckConstraint("kind IN ('recording', 'still')", name="incident_attachments_kind"),
    sa.CheckConstraint("size >= 0", name="incident_attachments_size"),
    sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="incident_attachments_sha256"),
    sa.Index("incident_attachments_incident", "incident_id", "id"),
)
