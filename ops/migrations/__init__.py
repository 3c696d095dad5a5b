"""Alembic migrations, run by ``ops.migrate``."""
