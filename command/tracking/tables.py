"""Tables of the unit terminals and trackers: the idempotency keys of what terminals sent, and
which tracker (an OsmAnd or Traccar Client device id) reports for which unit.

``tracking_device_bindings.unit_id`` references ``dispatch_units.id`` in the database; that
table belongs to ``dispatch``, so the reference is listed by the schema test. The schema is
made by the Alembic revision ``0012_unit_terminals``; these definitions say the same, checked
by ``tests/integration/ops/test_schema_matches_tables``.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, MetaData, PrimaryKeyConstraint, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

#: One row per state-changing message a terminal sent: a replay finds its key and changes
#: nothing; the answer given the first time is given again. Pruned by age.
terminal_keys = Table(
    "tracking_terminal_keys",
    metadata,
    Column("device", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("answer", JSONB, nullable=False, server_default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("device", "key", name="tracking_terminal_keys_pkey"),
    Index("tracking_terminal_keys_age", "created_at"),
)

#: A tracker's device identifier, as it sends it, bound to the unit it reports for.
device_bindings = Table(
    "tracking_device_bindings",
    metadata,
    Column("device_id", Text, primary_key=True),
    Column("unit_id", Text, nullable=False),
    Column("bound_by", Text, nullable=False),
    Column("bound_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("tracking_device_bindings_unit", "unit_id"),
)
