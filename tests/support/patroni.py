"""A highly available PostgreSQL for the tests: one etcd and PostgreSQL nodes under Patroni.

Everything runs from the system's binaries (``/usr/bin/etcd``, ``/usr/bin/patroni`` and
PostgreSQL's), on free ports, under one temporary directory. PostgreSQL refuses to run as root,
so when we are root Patroni (and the servers it starts) run as the ``postgres`` user, as
``ops.pgcluster`` runs the embedded cluster. Patroni's timeouts are short (a leader key of 10 s,
a loop of 1 s) so that a failover takes seconds; synchronous replication is on.

Every wait polls a condition (etcd's ``/health``, Patroni's ``/primary`` and ``/replica``): no
fixed sleeps.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import yaml

from ops.pgcluster import DB_USER, SERVER_USER, find_bindir, free_port
from tests.support.waiting import waited

SCOPE = "cad-ha-test"
REPLICATION_USER = "replicator"


def _get(url: str, timeout: float = 1.0) -> tuple[int, bytes]:
    """The status and body of a GET, or (0, b"") when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (local http)
            return int(answer.status), bytes(answer.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())
    except (OSError, TimeoutError):
        return 0, b""


@dataclass
class Etcd:
    """One etcd member, the DCS Patroni keeps its leader key in."""

    root: Path
    client_port: int = field(default_factory=free_port)
    peer_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        peer = f"http://127.0.0.1:{self.peer_port}"
        client = f"http://{self.endpoint}"
        with (self.root / "etcd.log").open("ab") as log_file:
            self.process = subprocess.Popen(
                [
                    shutil.which("etcd") or "/usr/bin/etcd",
                    "--name=e0",
                    f"--data-dir={self.root / 'data'}",
                    f"--listen-client-urls={client}",
                    f"--advertise-client-urls={client}",
                    f"--listen-peer-urls={peer}",
                    f"--initial-advertise-peer-urls={peer}",
                    f"--initial-cluster=e0={peer}",
                    "--initial-cluster-state=new",
                    "--log-level=warn",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        waited(lambda: _get(f"{client}/health")[0] == 200, 30, lambda: "etcd healthy")

    def stop(self) -> None:
        _end(self.process)


@dataclass
class Node:
    """One PostgreSQL server under its Patroni."""

    name: str
    root: Path
    pg_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def leads(self) -> bool:
        """Whether this node is the primary; an error when its Patroni has ended."""
        if self.process is not None and self.process.poll() is not None:
            tail = (self.root / "patroni.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"patroni of {self.name} ended:\n{tail}")
        return self.role() == "primary"

    def role(self) -> str:
        """``primary``, ``replica``, or ``down`` (Patroni's REST API says, or nothing answers)."""
        if _get(f"{self.api}/primary")[0] == 200:
            return "primary"
        if _get(f"{self.api}/replica")[0] == 200:
            return "replica"
        return "down"

    def state(self) -> dict[str, object]:
        status, body = _get(f"{self.api}/patroni")
        return dict(json.loads(body)) if status else {}

    def postmaster_pid(self) -> int | None:
        """This node's running postmaster; None when there is none (its pid file may be stale,
        and its number another process's now: only a server of this data directory counts)."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            return None
        return pid if str(self.data).encode() in argv else None

    def start(self, config: dict[str, object]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "run").mkdir(exist_ok=True)
        path = self.root / "patroni.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        user = _owner_for(self.root)
        for owned in (self.root, self.root / "run", path):
            _chown(owned, user)
        log_file: IO[bytes]
        with (self.root / "patroni.log").open("ab") as log_file:
            _chown(self.root / "patroni.log", user)
            self.process = subprocess.Popen(
                [shutil.which("patroni") or "/usr/bin/patroni", str(path)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.root,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root)},
                user=user,
                group=user,
                extra_groups=[] if user is not None else None,
                start_new_session=True,
            )

    def kill(self) -> None:
        """kill -9 this node's Patroni and its postmaster: a machine that is gone."""
        postmaster = self.postmaster_pid()
        assert postmaster is not None, f"{self.name} runs no server"
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.kill(postmaster, signal.SIGKILL)

    def stop(self) -> None:
        _end(self.process)
        # A postmaster left by a killed Patroni: stop it too, not leave it running.
        postmaster = self.postmaster_pid()
        if postmaster is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(postmaster, signal.SIGQUIT)


@dataclass
class PatroniCluster:
    """One etcd and ``size`` PostgreSQL nodes under Patroni, synchronous replication on."""

    size: int = 2
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cad-ha-")))
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    replication_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    etcd: Etcd = field(init=False)
    nodes: list[Node] = field(init=False)

    def __post_init__(self) -> None:
        self.etcd = Etcd(self.root / "etcd")
        self.nodes = [Node(f"node{i}", self.root / f"node{i}") for i in range(self.size)]

    def hosts(self) -> str:
        """Every node as ``host:port,host:port``, for a multi-host URL."""
        return ",".join(f"127.0.0.1:{n.pg_port}" for n in self.nodes)

    def superuser_url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return (
            f"{driver}://{DB_USER}:{self.password}@{self.hosts()}/{database}"
            "?target_session_attrs=read-write"
        )

    def start(self, limit: float = 120.0) -> None:
        if os.geteuid() == 0:
            self.root.chmod(0o711)  # the server user reaches its node's directory
        self.etcd.start()
        for node in self.nodes:
            node.root.mkdir(parents=True, exist_ok=True)
            _chown(node.root, _owner_for(node.root))
        # The first node bootstraps the cluster; the others clone it once it leads.
        self.nodes[0].start(self._config(self.nodes[0]))
        waited(self.nodes[0].leads, limit, lambda: "the first node leads")
        for node in self.nodes[1:]:
            node.start(self._config(node))
        waited(self.all_replicating, limit, lambda: "every standby streams")
        waited(lambda: self.sync_standby() is not None, limit, lambda: "a synchronous standby")

    def primary(self) -> Node | None:
        found = [n for n in self.nodes if n.role() == "primary"]
        return found[0] if len(found) == 1 else None

    def all_replicating(self) -> bool:
        return all(n.role() == "replica" for n in self.nodes if n is not self.primary())

    def sync_standby(self) -> str | None:
        """The member etcd names as the synchronous standby, once the primary reports one."""
        status, body = _get(f"{self.nodes[0].api}/cluster")
        if not status:
            for node in self.nodes[1:]:
                status, body = _get(f"{node.api}/cluster")
                if status:
                    break
        if not status:
            return None
        members = json.loads(body).get("members", [])
        sync = [m["name"] for m in members if m.get("role") == "sync_standby"]
        return str(sync[0]) if sync else None

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self.etcd.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _config(self, node: Node) -> dict[str, object]:
        address = f"127.0.0.1:{node.pg_port}"
        hba = [
            "local all all trust",
            "host all all 127.0.0.1/32 scram-sha-256",
            f"host replication {REPLICATION_USER} 127.0.0.1/32 scram-sha-256",
        ]
        return {
            "scope": SCOPE,
            "name": node.name,
            "restapi": {
                "listen": f"127.0.0.1:{node.api_port}",
                "connect_address": f"127.0.0.1:{node.api_port}",
            },
            "etcd3": {"hosts": [self.etcd.endpoint]},
            "bootstrap": {
                "dcs": {
                    # Short on purpose: the leader key lapses 10 s after its holder is gone.
                    "ttl": 10,
                    "loop_wait": 1,
                    "retry_timeout": 5,
                    "maximum_lag_on_failover": 1048576,
                    "synchronous_mode": True,
                    "postgresql": {
                        "use_pg_rewind": False,
                        "parameters": {
                            "max_connections": 100,
                            "wal_level": "replica",
                            "hot_standby": "on",
                            "max_wal_senders": 10,
                            "max_replication_slots": 10,
                            "wal_keep_size": "128MB",
                        },
                    },
                },
                "initdb": [
                    {"encoding": "UTF8"},
                    {"locale": "C.UTF-8"},
                    {"auth-host": "scram-sha-256"},
                ],
            },
            "postgresql": {
                "listen": address,
                "connect_address": address,
                "data_dir": str(node.data),
                "bin_dir": str(find_bindir()),
                "pgpass": str(node.root / "pgpass"),
                "authentication": {
                    "superuser": {"username": DB_USER, "password": self.password},
                    "replication": {
                        "username": REPLICATION_USER,
                        "password": self.replication_password,
                    },
                },
                "parameters": {
                    "unix_socket_directories": str(node.root / "run"),
                    "shared_buffers": "64MB",
                    "password_encryption": "scram-sha-256",
                },
                "pg_hba": hba,
            },
            "tags": {"nofailover": False, "noloadbalance": False},
        }


def _owner_for(_: Path) -> str | None:
    """The user the servers run as: ``postgres`` when we are root, ourselves otherwise."""
    if os.geteuid() != 0:
        return None
    pwd.getpwnam(SERVER_USER)  # ops.pgcluster makes it when missing; the Debian package does
    return SERVER_USER


def _chown(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _end(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
