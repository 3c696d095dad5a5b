"""The audit log guarded against its own server: sealing by a definer function, no TRUNCATE,
and the chain's identity and key boundary in ``audit_chain``.

The application role (``ops.db_roles``) may only read and append ``audit_log``; it seals
through ``audit_seal``, which sets a row's place in the chain once. ``audit_chain`` holds one
row: the chain's id (which names its checkpoint file outside the database), the first ``seq``
hashed with the key (rows before it were chained unkeyed by older releases), and what has been
archived away.

Revision ID: 0022_audit_guard
Revises: 0021_geocode_snapshot
"""

from __future__ import annotations

from alembic import op

revision = "0022_audit_guard"
down_revision = "0021_geocode_snapshot"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE audit_chain (
            one boolean PRIMARY KEY DEFAULT true CHECK (one),
            chain uuid NOT NULL DEFAULT gen_random_uuid(),
            keyed_from bigint,
            archived_upto bigint NOT NULL DEFAULT 0,
            archived_hash text NOT NULL DEFAULT '{GENESIS}'
        )
        """
    )
    op.execute("INSERT INTO audit_chain DEFAULT VALUES")
    op.execute(
        """
        CREATE FUNCTION audit_seal(ids bigint[], seqs bigint[], prevs text[], hashes text[])
        RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
            WITH sealed AS (
                UPDATE audit_log a SET seq = s.seq, prev_hash = s.prev_hash, hash = s.hash
                FROM unnest(ids, seqs, prevs, hashes) AS s(id, seq, prev_hash, hash)
                WHERE a.id = s.id AND a.seq IS NULL
                RETURNING 1
            )
            SELECT count(*)::integer FROM sealed
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION audit_chain_keyed_from(first bigint)
        RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
            UPDATE audit_chain SET keyed_from = first WHERE keyed_from IS NULL;
            SELECT keyed_from FROM audit_chain;
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION audit_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit log cannot be truncated' USING ERRCODE = '42501';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_no_truncate()"
    )
    op.execute(
        "CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_no_truncate()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_chain_no_truncate ON audit_chain")
    op.execute("DROP TRIGGER audit_no_truncate ON audit_log")
    op.execute("DROP FUNCTION audit_no_truncate()")
    op.execute("DROP FUNCTION audit_chain_keyed_from(bigint)")
    op.execute("DROP FUNCTION audit_seal(bigint[], bigint[], text[], text[])")
    op.execute("DROP TABLE audit_chain")
