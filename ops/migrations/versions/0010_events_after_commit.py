"""The event log's global sequence is assigned after commit, not under a writers' lock.

Writers insert with an identity ``id`` (the order of writing) and an empty ``seq``; the
sequencer (``command.events``) gives committed rows their ``seq`` once. Existing rows keep their
sequence numbers as both ``id`` and ``seq``, so consoles resume where they were.

``cad_assign_once(columns...)`` guards an append-only table that fills some columns after commit:
it refuses every DELETE, and every UPDATE but the one that gives the named columns, empty until
then, their values and changes nothing else.

Revision ID: 0010_events_after_commit
Revises: 0001_foundation
"""

from __future__ import annotations

from alembic import op

revision = "0010_events_after_commit"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


# One batch of numbering in one statement (one round trip in autocommit mode): the turn, then
# the highest number so far and the committed events without one, each read by its own
# statement, so with a snapshot taken after the previous batch committed. Read committed only:
# a snapshot kept for the whole transaction would number from a stale highest number.
# 212723685 (0x0CADE7E5): the advisory lock of the numbering turn, one batch at a time.
NUMBER_EVENTS = """
CREATE FUNCTION cad_number_events(batch integer, wait boolean) RETURNS SETOF events
LANGUAGE plpgsql AS $$
DECLARE
    top bigint;
    numbered bigint;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'events are numbered under read committed only';
    END IF;
    IF wait THEN
        PERFORM pg_advisory_xact_lock(212723685);
    ELSIF NOT pg_try_advisory_xact_lock(212723685) THEN
        RETURN;
    END IF;
    SELECT coalesce(max(seq), 0) INTO top FROM events;
    RETURN QUERY
        WITH pending AS (
            SELECT p.id, row_number() OVER (ORDER BY p.id) AS n
            FROM (SELECT e.id FROM events e WHERE e.seq IS NULL ORDER BY e.id LIMIT batch) AS p
        )
        UPDATE events e SET seq = top + pending.n FROM pending WHERE e.id = pending.id
        RETURNING e.*;
    GET DIAGNOSTICS numbered = ROW_COUNT;
    IF numbered > 0 THEN
        PERFORM pg_notify('cad_events', (top + numbered)::text);
    END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION cad_assign_once() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            old_row jsonb := to_jsonb(OLD);
            new_row jsonb := to_jsonb(NEW);
            col text;
        BEGIN
            IF TG_OP <> 'UPDATE' THEN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END IF;
            FOREACH col IN ARRAY TG_ARGV LOOP
                IF old_row ->> col IS NOT NULL OR new_row ->> col IS NULL THEN
                    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
                END IF;
                old_row := old_row - col;
                new_row := new_row - col;
            END LOOP;
            IF old_row IS DISTINCT FROM new_row THEN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END IF;
            RETURN NEW;
        END $$;
        """
    )
    op.execute(
        """
        CREATE FUNCTION cad_assigned_after_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '%: % assigned after commit, not by the writer',
                TG_TABLE_NAME, array_to_string(TG_ARGV, ', ');
        END $$;
        """
    )
    op.execute("DROP TRIGGER events_append_only ON events")
    op.execute("ALTER TABLE events RENAME COLUMN seq TO id")
    # One value at a time from the identity: ids follow the order of the inserts across sessions.
    op.execute("ALTER TABLE events ALTER COLUMN id SET CACHE 1")
    op.execute("ALTER TABLE events ADD COLUMN seq bigint")
    op.execute("UPDATE events SET seq = id")
    op.execute("CREATE UNIQUE INDEX events_seq ON events (seq) WHERE seq IS NOT NULL")
    op.execute("CREATE INDEX events_unsequenced ON events (id) WHERE seq IS NULL")
    op.execute(NUMBER_EVENTS)
    op.execute(
        "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
        "FOR EACH ROW EXECUTE FUNCTION cad_assign_once('seq')"
    )
    op.execute(
        "CREATE TRIGGER events_sequenced_after_commit BEFORE INSERT ON events "
        "FOR EACH ROW WHEN (NEW.seq IS NOT NULL) EXECUTE FUNCTION cad_assigned_after_commit('seq')"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION cad_number_events(integer, boolean)")
    op.execute("DROP TRIGGER events_sequenced_after_commit ON events")
    op.execute("DROP TRIGGER events_append_only ON events")
    # Events committed but not yet sequenced take the next numbers, in the order of writing.
    op.execute(
        "UPDATE events e SET seq = top.s + p.n "
        "FROM (SELECT coalesce(max(seq), 0) AS s FROM events) top, "
        "(SELECT id, row_number() OVER (ORDER BY id) AS n FROM events WHERE seq IS NULL) p "
        "WHERE e.id = p.id"
    )
    op.execute("DROP INDEX events_unsequenced")
    op.execute("DROP INDEX events_seq")
    op.execute("ALTER TABLE events DROP COLUMN id")
    op.execute("ALTER TABLE events ALTER COLUMN seq SET NOT NULL")
    op.execute("ALTER TABLE events ADD PRIMARY KEY (seq)")
    op.execute("ALTER TABLE events ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY")
    op.execute("SELECT setval(pg_get_serial_sequence('events', 'seq'), max(seq)) FROM events")
    op.execute("CREATE INDEX events_subject ON events (subject_type, subject_id, seq)")
    op.execute(
        "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
        "FOR EACH ROW EXECUTE FUNCTION cad_append_only()"
    )
    op.execute("DROP FUNCTION cad_assigned_after_commit()")
    op.execute("DROP FUNCTION cad_assign_once()")
