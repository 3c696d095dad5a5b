"""The incident tables (SQLAlchemy Core): incidents, their calls, narrative, status history,
escalations, sensitivity markings, and the per-year number counter.

Incidents are versioned rows (``WHERE id = :id AND version = :v``). The narrative is
append-only, enforced by a trigger (in the migration only). ``jurisdiction_id`` refers to
``gis_jurisdictions`` without a foreign key: the GIS schema is a separate migration branch and is
replaced on re-import; ``incident_calls.call_id`` likewise has none to ``calls``. The schema is
created by the Alembic revision ``0005_incidents_dispatch``; these definitions say the same,
checked by ``tests/integration/ops/test_schema_matches_tables``. The sensitivity markings come
from ``0020_sensitive_incidents``; the narrative's codes and parameters from
``0027_narrative_codes``.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

from command.incidents.domain import IncidentStatus
from command.incidents.sensitivity import Reason

metadata = sa.MetaData()


def _in(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


incident_numbers = sa.Table(
    "incident_numbers",
    metadata,
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("last", sa.Integer, nullable=False),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("number", sa.Text, nullable=False, unique=True),
    sa.Column("type_code", sa.Text, nullable=False),
    sa.Column("priority", sa.SmallInteger, nullable=False),
    sa.Column("response_level", sa.SmallInteger, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("command_level", sa.Text, nullable=False),
    sa.Column("region", sa.Text),
    sa.Column("jurisdiction_id", sa.Integer),
    sa.Column("jurisdiction_name", sa.Text),
    sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    sa.Column("address", sa.Text, nullable=False, server_default=""),
    sa.Column("cross_streets", sa.Text, nullable=False, server_default=""),
    sa.Column("caller_name", sa.Text, nullable=False, server_default=""),
    sa.Column("caller_phone", sa.Text, nullable=False, server_default=""),
    sa.Column("summary", sa.Text, nullable=False, server_default=""),
    sa.Column("merged_into", sa.BigInteger, sa.ForeignKey("incidents.id")),
    sa.Column("created_by", sa.Text, nullable=False),
    _at("created_at", nullable=False),
    _at("call_answered_at"),
    _at("dispatched_at"),
    _at("en_route_at"),
    _at("on_scene_at"),
    _at("under_control_at"),
    _at("closed_at"),
    _at("cancelled_at"),
    _at("updated_at", nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.CheckConstraint("priority BETWEEN 1 AND 4", name="incidents_priority"),
    sa.CheckConstraint("response_level BETWEEN 1 AND 4", name="incidents_response_level"),
    sa.CheckConstraint(_in("status", IncidentStatus), name="incidents_status"),
    sa.CheckConstraint(
        _in("command_level", ("department", "district", "city")), name="incidents_level"
    ),
    sa.Index("incidents_geom", "geom", postgresql_using="gist"),
    # The open board: only incidents not yet closed or cancelled.
    sa.Index(
        "incidents_open",
        "created_at",
        postgresql_where=sa.text("status NOT IN ('closed', 'cancelled')"),
    ),
    sa.Index("incidents_created", "created_at"),
    sa.Index("incidents_caller_phone", "caller_phone", "created_at"),  # the screen pop's look-up
)

incident_calls = sa.Table(
    "incident_calls",
    metadata,
    sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("call_id", sa.Text, primary_key=True),
    _at("answered_at"),
    sa.Column("caller_phone", sa.Text, nullable=False, server_default=""),
    _at("linked_at", nullable=False),
    sa.Column("linked_by", sa.Text, nullable=False),
    sa.Index("incident_calls_call", "call_id"),
)

narrative = sa.Table(
    "incident_narrative",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
    _at("at", nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    # a system entry's code and parameters (0027_narrative_codes); NULL for people's notes
    sa.Column("code", sa.Text),
    sa.Column("params", JSONB, nullable=False, server_default="{}"),
    sa.CheckConstraint("kind IN ('note', 'system')", name="incident_narrative_kind"),
    sa.Index("incident_narrative_incident", "incident_id", "id"),
)

status_history = sa.Table(
    "incident_status_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("from_status", sa.Text),
    sa.Column("to_status", sa.Text, nullable=False),
    _at("at", nullable=False),
    sa.Column("actor", sa.Text),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Index("incident_status_history_incident", "incident_id", "id"),
)

escalations = sa.Table(
    "incident_escalations",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("from_value", sa.Text, nullable=False),
    sa.Column("to_value", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    _at("at", nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.CheckConstraint(
        "kind IN ('command_level', 'response_level')", name="incident_escalations_kind"
    ),
    sa.Index("incident_escalations_incident", "incident_id"),
)

# A row per incident marked sensitive (absent: open to every console). Its own table, so that
# marking changes no incident row and its version, and the common read (no marking) is one
# primary-key probe.
sensitivity = sa.Table(
    "incident_sensitivity",
    metadata,
    sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), primary_key=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("roles", sa.ARRAY(sa.Text), nullable=False),
    sa.Column("users", sa.ARRAY(sa.Text), nullable=False),
    sa.Column("marked_by", sa.Text, nullable=False),
    _at("marked_at", nullable=False),
    sa.CheckConstraint(_in("reason", Reason), name="incident_sensitivity_reason"),
)
