"""``cad serve`` and ``cad demo`` under supervision: the embedded postmaster (when the database
is the embedded cluster), a private Janus (when no ``CAD_JANUS_URL`` is set and Janus is
installed) and the app worker run as children of ``ops.supervisor``, which restarts one that
dies. The worker is the same command with ``--no-supervise``, forked from
the supervisor (which has imported everything already, so that a worker is back quickly); it
learns the state file from ``CAD_SUPERVISOR_STATE`` and leaves the database to the
supervisor."""

from __future__ import annotations

import signal
from pathlib import Path

from command.db import cluster_for
from command.errors import Unavailable
from command.settings import Settings
from ops.janus import JanusServer, find_binary
from ops.pgcluster import Cluster, ClusterError
from ops.supervisor import Adopted, ChildSpec, Process, Supervisor, fork, port_open

# The CLI's exit status for an error a person caused (a setting, a schema to migrate): when
# the worker never came up with it, restarting will not help.
CLI_ERROR = 2


def state_file(settings: Settings) -> Path:
    return (settings.var_dir / "supervisor_state.json").resolve()


def run(command: str, settings: Settings) -> int:
    """Supervise ``cad <command> --no-supervise`` (and the embedded cluster) until stopped."""
    state = state_file(settings)
    children: list[ChildSpec] = []
    if settings.embedded:
        children.append(_database(cluster_for(settings)))
    env = {
        "CAD_SUPERVISOR_STATE": str(state),
        "CAD_HOST": settings.host,
        "CAD_PORT": str(settings.port),
        "CAD_VAR_DIR": str(settings.var_dir.resolve()),
    }
    janus = _private_janus(settings)
    if janus is not None:
        children.append(_janus(janus))
        env |= {"CAD_JANUS_URL": janus.url, "CAD_JANUS_API_SECRET": janus.api_secret(),
                "CAD_JANUS_RECORDINGS_DIR": str(janus.recordings_dir)}
    host = _local(settings.host)

    def worker() -> int:
        # Imported here: the command line imports this module (it is loaded by now).
        from command.cli import main

        return main([command, "--no-supervise"])

    children.append(
        ChildSpec(
            name="app",
            start=lambda: fork(worker, env),
            ready=lambda _: port_open(host, settings.port),
            # The app does not wait for Janus: video reconnects to it on first use.
            needs=("database",) if settings.embedded else (),
            config_exits=frozenset({CLI_ERROR}),
        )
    )
    print(f"supervising {', '.join(c.name for c in children)}; state in {state}", flush=True)
    return Supervisor(children, state).run()


def _database(cluster: Cluster) -> ChildSpec:
    try:
        if cluster.init():
            print(f"created the embedded database cluster in {cluster.root}", flush=True)
    except ClusterError as exc:
        raise Unavailable(str(exc), code="database.cluster_failed", reason=str(exc)) from exc

    def adopt() -> Process | None:
        # A cluster started before (`cad db start`) is watched rather than started twice.
        pid = cluster.postmaster_pid()
        return None if pid is None else Adopted(pid, lambda p: cluster.postmaster_pid() == p)

    return ChildSpec(
        name="database",
        start=cluster.spawn,
        ready=lambda proc: cluster.accepting(proc.pid),
        # SIGINT is PostgreSQL's fast shutdown: sessions are ended, the data is flushed.
        stop_signal=signal.SIGINT,
        stop_timeout_s=60.0,
        adopt=adopt,
    )


def _private_janus(settings: Settings) -> JanusServer | None:
    """The media server this supervisor runs, unless one is configured or none is installed."""
    if settings.janus_url or not settings.janus_private:
        return None
    try:
        find_binary()
    except RuntimeError as exc:
        print(f"no video consultations: {exc}", flush=True)
        return None
    return JanusServer(root=(settings.var_dir / "janus").resolve())


def _janus(janus: JanusServer) -> ChildSpec:
    return ChildSpec(
        name="janus",
        start=janus.spawn,
        ready=lambda _: janus.serving(),
        start_timeout_s=30.0,
        stop_timeout_s=10.0,
    )


def _local(host: str) -> str:
    """The address to reach this server from this machine."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104
