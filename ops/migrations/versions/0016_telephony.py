"""Call backs are calls (``calls.kind`` may be ``outbound``); phone numbers in one normal form
(``+423 777 0025`` is ``+4237770025``) and an index for the screen pop's look-up of incidents.

Revision ID: 0016_telephony
Revises: 0014_plans (and needs 0007_call_indexes)
"""

from __future__ import annotations

from alembic import op

revision = "0016_telephony"
down_revision = "0014_plans"
branch_labels = None
depends_on = ("0007_call_indexes", "0005_incidents_dispatch")  # calls, incidents


# as telephony.phone.normal_number: separators go, an international 00 becomes +
def _normal(column: str) -> str:
    compact = f"regexp_replace({column}, '[[:space:]()./-]', '', 'g')"
    return (f"CASE WHEN {compact} ~ '^[+]?[0-9]+$' THEN "
            f"CASE WHEN {compact} ~ '^00[0-9]{{3,}}$' THEN '+' || substr({compact}, 3) "
            f"ELSE {compact} END ELSE {column} END")


def upgrade() -> None:
    # (column names are constants here, not input)
    op.execute(f"UPDATE calls SET number = {_normal('number')} "  # noqa: S608
               "WHERE number IS NOT NULL")
    op.execute(f"UPDATE caller_locations SET number = {_normal('number')}")  # noqa: S608
    op.execute(f"UPDATE incidents SET caller_phone = {_normal('caller_phone')} "  # noqa: S608
               "WHERE caller_phone IS NOT NULL")
    op.execute("CREATE INDEX incidents_caller_phone ON incidents (caller_phone, created_at)")
    op.execute("ALTER TABLE calls DROP CONSTRAINT calls_kind")
    op.execute(
        "ALTER TABLE calls ADD CONSTRAINT calls_kind "
        "CHECK (kind IN ('voice', 'sms', 'alarm', 'outbound'))"
    )


def downgrade() -> None:
    op.execute("DROP INDEX incidents_caller_phone")
    op.execute("DELETE FROM calls WHERE kind = 'outbound'")
    op.execute("ALTER TABLE calls DROP CONSTRAINT calls_kind")
    op.execute(
        "ALTER TABLE calls ADD CONSTRAINT calls_kind CHECK (kind IN ('voice', 'sms', 'alarm'))"
    )
