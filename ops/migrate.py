"""Database bootstrap and migrations (Alembic, run programmatically on an async engine)."""

from __future__ import annotations

from pathlib import Path

from alembic import command as alembic_command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    alembic_command.upgrade(_config(connection), "heads")


def _pending(connection: Connection) -> list[str]:
    script = ScriptDirectory.from_config(_config(connection))
    current = set(MigrationContext.configure(connection).get_current_heads())
    return sorted(set(script.get_heads()) - current)


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision of every branch."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def pending(engine: AsyncEngine) -> list[str]:
    """Heads not yet applied (empty when the schema is current)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_pending)
