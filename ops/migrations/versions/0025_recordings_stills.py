"""Recording a consultation, whose stream an attachment shows, a participant's own cap.

``consultations.recording_since``: when its recording started (NULL: not recording), so that
every ``cad serve`` and console knows, and a restart does not forget. ``incident_attachments
.member``: the participant whose stream a recording or a still is of.
``consultation_participants.bitrate_kbps``: a cap of one participant's sending below the
consultation's (a vehicle on a weak link); NULL: the consultation's.

Revision ID: 0025_recordings_stills
Revises: 0024_consultations
"""

from __future__ import annotations

from alembic import op

revision = "0025_recordings_stills"
down_revision = "0024_consultations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE consultations ADD COLUMN recording_since timestamptz")
    op.execute("ALTER TABLE incident_attachments ADD COLUMN member text")
    op.execute("ALTER TABLE consultation_participants ADD COLUMN bitrate_kbps integer")


def downgrade() -> None:
    op.execute("ALTER TABLE consultation_participants DROP COLUMN bitrate_kbps")
    op.execute("ALTER TABLE incident_attachments DROP COLUMN member")
    op.execute("ALTER TABLE consultations DROP COLUMN recording_since")
