"""Alembic environment: runs the migrations on the connection ``ops.migrate`` hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

connection: Connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
