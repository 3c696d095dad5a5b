"""Sign-in: failure counters per address and per (account, address), forced password changes,
the second factor (TOTP) and its recovery codes, and sessions limited to one step.

Revision ID: 0018_signin
Revises: 0017_idempotency_keys
"""

from __future__ import annotations

from alembic import op

revision = "0018_signin"
down_revision = "0017_idempotency_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE signin_failures (
            account text NOT NULL,
            source text NOT NULL,
            failures integer NOT NULL,
            window_start timestamptz NOT NULL,
            locked_until timestamptz,
            PRIMARY KEY (account, source)
        )
        """
    )
    op.execute(
        """
        ALTER TABLE users
            ADD COLUMN must_change_password boolean NOT NULL DEFAULT false,
            ADD COLUMN totp_secret text,
            ADD COLUMN totp_confirmed_at timestamptz,
            ADD COLUMN totp_last_step bigint
        """
    )
    op.execute(
        """
        CREATE TABLE totp_recovery_codes (
            user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            code_hash text NOT NULL,
            used_at timestamptz,
            PRIMARY KEY (user_id, code_hash)
        )
        """
    )
    op.execute(
        """
        ALTER TABLE tokens
            ADD COLUMN limited_to text,
            ADD CONSTRAINT tokens_limited_to
                CHECK (limited_to IN ('password_change', 'totp_enrolment'))
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE tokens DROP CONSTRAINT tokens_limited_to, DROP COLUMN limited_to")
    op.execute("DROP TABLE totp_recovery_codes")
    op.execute(
        """
        ALTER TABLE users
            DROP COLUMN must_change_password,
            DROP COLUMN totp_secret,
            DROP COLUMN totp_confirmed_at,
            DROP COLUMN totp_last_step
        """
    )
    op.execute("DROP TABLE signin_failures")
