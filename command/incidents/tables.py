"""The incident tables (SQLAlchemy Core): incidents, their calls, narrative, status history,
escalations, and the per-year number counter.

Incidents are versioned rows (``WHERE id = :id AND version = :v``). The narrative is
append-only, enforced by a trigger. ``jurisdiction_id`` refers to ``gis_jurisdictions`` without
a foreign key: the GIS schema is a separate migration branch and is replaced on re-import.
The schema is created by the Alembic revision ``0005_incidents_dispatch``.
"""

from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry

metadata = sa.MetaData()


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
)

escalations = sa.Table(
    "incident_escalations",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),  # command_level | response_level
    sa.Column("from_value", sa.Text, nullable=False),
    sa.Column("to_value", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    _at("at", nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)
