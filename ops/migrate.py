"""Database bootstrap and migrations (Alembic, run programmatically on an async engine).

Alembic's own progress lines are kept out of the output: callers say what was applied.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from alembic import command as alembic_command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


class UnknownRevision(RuntimeError):
    """The database records a revision this code does not have (a newer release migrated it)."""

    kind: ClassVar[str] = "unavailable"


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


class _WarningsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


@contextmanager
def _quiet() -> Iterator[None]:
    """Alembic logs every step at INFO; only its warnings and errors are worth showing. Each
    caller adds and removes its own filter, so overlapping callers leave the logger as it was."""
    logger = logging.getLogger("alembic.runtime.migration")
    only_warnings = _WarningsOnly()
    logger.addFilter(only_warnings)
    try:
        yield
    finally:
        logger.removeFilter(only_warnings)


def _upgrade(connection: Connection, target: str) -> None:
    alembic_command.upgrade(_config(connection), target)


def _in_order(script: ScriptDirectory) -> list[str]:
    """Every revision, parents before children, otherwise by name (so in their numbered order)."""
    parents: dict[str, set[str]] = {}
    for script_rev in script.walk_revisions():
        down = script_rev.down_revision
        parents[script_rev.revision] = {down} if isinstance(down, str) else set(down or ())
    ordered: list[str] = []
    ready = sorted(r for r, p in parents.items() if not p)
    while ready:
        rev = ready.pop(0)
        ordered.append(rev)
        for child, p in parents.items():
            if rev in p:
                p.discard(rev)
                if not p:
                    ready = sorted([*ready, child])
    return ordered


def _pending(connection: Connection) -> list[str]:
    script = ScriptDirectory.from_config(_config(connection))
    every = _in_order(script)
    current = MigrationContext.configure(connection).get_current_heads()
    unknown = [head for head in current if head not in every]
    if unknown:
        raise UnknownRevision(
            f"the database is at revision {', '.join(unknown)}, which this version of cad does "
            "not have: it was migrated by a newer release"
        )
    applied: set[str] = set()
    for head in current:
        applied.update(r.revision for r in script.iterate_revisions(head, "base") if r)
    return [rev for rev in every if rev not in applied]


async def upgrade(engine: AsyncEngine, target: str = "heads") -> None:
    """Bring the schema to the newest revision of every branch (or only up to ``target``)."""
    with _quiet():
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, target)


async def pending(engine: AsyncEngine) -> list[str]:
    """Every revision not yet applied, on every branch, in the order they apply (empty when
    the schema is current)."""
    with _quiet():
        async with engine.connect() as conn:
            return await conn.run_sync(_pending)
