"""The database: one async engine per process, and where its URLs come from.

Two roles: the application's (``database_url``), which serves and may only append to the audit
log, and the owner's (``admin_database_url``), which migrates and archives. ``prepare_roles``
gives the application role its rights after each migration.
"""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command.database_errors import broken_connection, not_primary
from command.errors import Unavailable
from command.settings import Settings
from ops import db_roles
from ops.pgcluster import Cluster, ClusterError

log = logging.getLogger(__name__)


def cluster_for(settings: Settings) -> Cluster:
    return Cluster(
        root=settings.cluster_dir.resolve(),
        port=settings.embedded_port,
        archive_dir=settings.wal_archive_path.resolve(),
    )


def database_url(settings: Settings) -> str:
    """The application role on the configured server, or on the embedded cluster (which must
    be initialised)."""
    if settings.database_url:
        return settings.database_url
    try:
        return cluster_for(settings).app_url()
    except ClusterError as exc:
        raise Unavailable(str(exc), code="database.cluster_failed", reason=str(exc)) from exc


def admin_database_url(settings: Settings) -> str:
    """The owner: the configured admin URL, the embedded cluster's superuser, or (no admin URL
    configured) the application's own URL."""
    if settings.database_admin_url:
        return settings.database_admin_url
    if settings.database_url:
        return settings.database_url
    try:
        return cluster_for(settings).url()
    except ClusterError as exc:
        raise Unavailable(str(exc), code="database.cluster_failed", reason=str(exc)) from exc


async def prepare_roles(admin: AsyncEngine, app_url: str) -> None:
    """Make the application role named in ``app_url`` (with its password) and give it its
    rights; nothing when the application connects as the owner itself."""
    app, owner = make_url(app_url), admin.url
    if app.username == owner.username and app.host == owner.host and app.port == owner.port:
        log.warning(
            "the server connects as the database owner %s: set CAD_DATABASE_ADMIN_URL to a "
            "separate owner so that the audit log is append-only for the server",
            app.username,
        )
        return
    if app.username is None or app.password is None:
        raise Unavailable(
            "the application's database URL needs a user name and a password",
            code="database.app_role_unnamed",
        )
    async with admin.begin() as conn:
        await db_roles.ensure_role(conn, app.username, app.password)
        await db_roles.grant(conn, app.username)


def _drop_when_not_primary(context: ExceptionContext) -> None:
    """A connection to a server that is no longer the primary is as good as a lost one: the
    pool drops it, and the connections pooled with it (they point to the old primary too), so
    the next checkout connects afresh and ``target_session_attrs`` picks the new primary."""
    if not_primary(context.original_exception):
        log.warning("the database server is not the primary: dropping the pooled connections")
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = True
    elif broken_connection(context.original_exception):
        context.is_disconnect = True  # this one only: the others may be fine


def make_engine(url: str, settings: Settings) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        pool_timeout=settings.db_connect_timeout_s,
        connect_args={
            "timeout": settings.db_connect_timeout_s,
            # The server's statement_timeout cannot fire on a frozen server: the client's
            # deadline, a little later, turns a hung database into an answer.
            "command_timeout": settings.db_statement_timeout_ms / 1000 + 2,
            "server_settings": {
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "application_name": "cad",
                # JIT compilation costs 100 ms and more on statements that run in milliseconds.
                "jit": "off",
            },
        },
    )
    event.listen(engine.sync_engine, "handle_error", _drop_when_not_primary)
    return engine
