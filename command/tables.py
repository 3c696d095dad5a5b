"""Tables owned by ``command``: the event log, users and tokens, the audit log.

The schema is made by the Alembic revisions from ``0001_foundation`` on; these definitions say
the same, checked by ``tests/integration/ops/test_schema_matches_tables``.
The append-only triggers on ``events`` and ``audit_log`` live only in the migrations.
"""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

events = Table(
    "events",
    metadata,
    # The order of writing; the global sequence (``seq``) is assigned after commit.
    Column("id", BigInteger, Identity(always=True, cache=1), primary_key=True),
    Column("seq", BigInteger),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("type", Text, nullable=False),
    Column("subject_type", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("actor", Text),
    Column("data", JSONB, nullable=False),
    Index("events_subject", "subject_type", "subject_id", "id"),
    Index("events_seq", "seq", unique=True, postgresql_where=text("seq IS NOT NULL")),
    Index("events_unsequenced", "id", postgresql_where=text("seq IS NULL")),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("username", Text, nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("roles", ARRAY(Text), nullable=False),
    Column("language", Text, nullable=False, server_default="zh-CN"),
    Column("disabled", Boolean, nullable=False, server_default="false"),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # NULL is the centre's top level (city)
    Column("command_level", Text),
    CheckConstraint(
        "command_level IN ('department', 'district', 'city')", name="users_command_level"
    ),
    # An administrator's reset: the next session may only change the password.
    Column("must_change_password", Boolean, nullable=False, server_default="false"),
    # The TOTP secret (RFC 6238) in base32: kept so that codes can be checked, hence not hashed;
    # set at enrolment, in force once confirmed; the last time step used (replays refused).
    Column("totp_secret", Text),
    Column("totp_confirmed_at", DateTime(timezone=True)),
    Column("totp_last_step", BigInteger),
)

# Failed sign-ins per (account, source address); account '' is the address's own counter.
signin_failures = Table(
    "signin_failures",
    metadata,
    Column("account", Text, primary_key=True),
    Column("source", Text, primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("locked_until", DateTime(timezone=True)),
)

# One-time recovery codes of the second factor, as their SHA-256 (they are random, not chosen).
totp_recovery_codes = Table(
    "totp_recovery_codes",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("code_hash", Text, primary_key=True),
    Column("used_at", DateTime(timezone=True)),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE")),
    Column("device", Text),
    Column("roles", ARRAY(Text), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    # A device token's end of validity; sessions end by idleness instead (NULL).
    Column("expires_at", DateTime(timezone=True)),
    CheckConstraint("kind IN ('session', 'device')", name="tokens_kind"),
    CheckConstraint(
        "kind <> 'device' OR expires_at IS NOT NULL OR revoked_at IS NOT NULL",
        name="tokens_device_expires",
    ),
    # A session that may take one step only (change the password, enrol a second factor).
    Column("limited_to", Text),
    CheckConstraint(
        "limited_to IN ('password_change', 'totp_enrolment')", name="tokens_limited_to"
    ),
)

audit_log = Table(
    "audit_log",
    metadata,
    # The order of writing; the place in the chain (``seq``, ``prev_hash``, ``hash``) is
    # sealed after commit.
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("object_type", Text, nullable=False),
    Column("object_id", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("result", Text, nullable=False),
    Column("detail", JSONB, nullable=False),
    Column("content_hash", Text),
    Column("seq", BigInteger),
    Column("prev_hash", Text),
    Column("hash", Text),
    Index("audit_log_seq", "seq", unique=True, postgresql_where=text("seq IS NOT NULL")),
    Index("audit_log_unsealed", "id", postgresql_where=text("seq IS NULL")),
    CheckConstraint(
        "(seq IS NULL) = (prev_hash IS NULL) AND (seq IS NULL) = (hash IS NULL)",
        name="audit_log_sealed_whole",
    ),
)


# The chain's identity (its checkpoints outside the database carry it), the first ``seq``
# hashed with the key, and the end of what has been archived away.
audit_chain = Table(
    "audit_chain",
    metadata,
    Column("one", Boolean, primary_key=True, server_default=text("true")),
    Column("chain", UUID(as_uuid=False), nullable=False, server_default=text("gen_random_uuid()")),
    Column("keyed_from", BigInteger),
    Column("archived_upto", BigInteger, nullable=False, server_default=text("0")),
    Column("archived_hash", Text, nullable=False, server_default=text("'" + "0" * 64 + "'")),
    CheckConstraint("one", name="audit_chain_one_check"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("actor", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("fingerprint", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The first attempt's answer, once it ended (NULL while it runs).
    Column("status", Integer),
    Column("body", LargeBinary),
    Column("content_type", Text),
    # Set in the transaction of the first attempt's change: it committed (command.idempotency).
    Column("done_at", DateTime(timezone=True)),
    # The timeline of the primary that took the claim; a promoted standby has a newer one.
    Column("timeline", Integer),
    Index("idempotency_keys_created_at", "created_at"),
)
