"""The application's services for a test database, built by the real bootstrap (nothing runs
in the background: no hub, no Asterisk link, no timers)."""

from __future__ import annotations

import tempfile

from sqlalchemy.ext.asyncio import AsyncEngine

from command import bootstrap
from command.bootstrap import Container
from command.settings import Settings


def services(engine: AsyncEngine, **settings: object) -> Container:
    # The audit key and checkpoints in a directory of the test's own, never the checkout's var/.
    settings.setdefault("audit_dir", tempfile.mkdtemp(prefix="cad-audit-"))
    return bootstrap.build(Settings(ami_enabled=False, **settings), engine)  # type: ignore[arg-type]
