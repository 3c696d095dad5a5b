"""The database: one async engine per process, and where its URL comes from."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command.errors import Unavailable
from command.settings import Settings
from ops.pgcluster import Cluster, ClusterError


def cluster_for(settings: Settings) -> Cluster:
    return Cluster(root=settings.cluster_dir.resolve(), port=settings.embedded_port)


def database_url(settings: Settings) -> str:
    """The configured server, or the embedded cluster (which must be initialised)."""
    if settings.database_url:
        return settings.database_url
    try:
        return cluster_for(settings).url()
    except ClusterError as exc:
        raise Unavailable(str(exc), code="database.cluster_failed", reason=str(exc)) from exc


def make_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
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
