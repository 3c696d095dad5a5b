"""The audit chain is sealed after commit, not under a writers' lock.

Writers insert with an identity ``id`` and a ``content_hash``; the sealer (``command.audit``)
gives committed rows their place in the chain once: ``seq``, ``prev_hash`` and ``hash``. Rows
already chained keep their hashes, with their old id as ``seq``; they have no content hash.

Revision ID: 0011_audit_after_commit
Revises: 0010_events_after_commit
"""

from __future__ import annotations

from alembic import op

revision = "0011_audit_after_commit"
down_revision = "0010_events_after_commit"
branch_labels = None
depends_on = None

SEAL = ("seq", "prev_hash", "hash")


def upgrade() -> None:
    op.execute("DROP TRIGGER audit_append_only ON audit_log")
    op.execute("ALTER TABLE audit_log ADD COLUMN seq bigint")
    op.execute("UPDATE audit_log SET seq = id")
    op.execute("ALTER TABLE audit_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY")
    op.execute("SELECT setval(pg_get_serial_sequence('audit_log', 'id'), max(id)) FROM audit_log")
    op.execute("ALTER TABLE audit_log ADD COLUMN content_hash text")
    op.execute("ALTER TABLE audit_log ALTER COLUMN prev_hash DROP NOT NULL")
    op.execute("ALTER TABLE audit_log ALTER COLUMN hash DROP NOT NULL")
    op.execute(
        "ALTER TABLE audit_log ADD CONSTRAINT audit_log_sealed_whole CHECK "
        "((seq IS NULL) = (prev_hash IS NULL) AND (seq IS NULL) = (hash IS NULL))"
    )
    op.execute("CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq) WHERE seq IS NOT NULL")
    op.execute("CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seq IS NULL")
    columns = ", ".join(f"'{c}'" for c in SEAL)
    op.execute(
        "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_log "
        f"FOR EACH ROW EXECUTE FUNCTION cad_assign_once({columns})"
    )
    op.execute(
        "CREATE TRIGGER audit_sealed_after_commit BEFORE INSERT ON audit_log FOR EACH ROW "
        f"WHEN ({' OR '.join(f'NEW.{c} IS NOT NULL' for c in SEAL)}) "
        f"EXECUTE FUNCTION cad_assigned_after_commit({columns})"
    )


def downgrade() -> None:
    # Only a sealed log goes back (the old chain has no place for unsealed rows); sealed rows
    # verify the old way, with their place in the chain as their id.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT FROM audit_log WHERE seq IS NULL) THEN "
        "RAISE EXCEPTION 'audit rows wait for their seal: run cad audit seal first'; "
        "END IF; END $$"
    )
    op.execute("DROP TRIGGER audit_sealed_after_commit ON audit_log")
    op.execute("DROP TRIGGER audit_append_only ON audit_log")
    op.execute("DROP INDEX audit_log_unsealed")
    op.execute("DROP INDEX audit_log_seq")
    op.execute("ALTER TABLE audit_log DROP CONSTRAINT audit_log_sealed_whole")
    op.execute("ALTER TABLE audit_log ALTER COLUMN id DROP IDENTITY")
    op.execute("ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey")
    op.execute("ALTER TABLE audit_log DROP COLUMN id")
    op.execute("ALTER TABLE audit_log RENAME COLUMN seq TO id")
    op.execute("ALTER TABLE audit_log ADD PRIMARY KEY (id)")
    op.execute("ALTER TABLE audit_log DROP COLUMN content_hash")
    op.execute("ALTER TABLE audit_log ALTER COLUMN prev_hash SET NOT NULL")
    op.execute("ALTER TABLE audit_log ALTER COLUMN hash SET NOT NULL")
    op.execute(
        "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION cad_append_only()"
    )
