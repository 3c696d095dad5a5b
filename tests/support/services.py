"""The application's services for a test database, built by the real bootstrap (nothing runs
in the background: no hub, no Asterisk link, no timers)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from command import bootstrap
from command.bootstrap import Container
from command.settings import Settings


def services(engine: AsyncEngine, **settings: object) -> Container:
    return bootstrap.build(Settings(ami_enabled=False, **settings), engine)  # type: ignore[arg-type]
