"""A private PostgreSQL cluster run from the system's binaries (initdb, pg_ctl).

Used when no external server is configured: `cad db init|start|stop|status` and the test suite.
PostgreSQL refuses to run as root, so when we are root the server runs as an unprivileged
system user (``postgres`` when the Debian package created it). The superuser password is
generated at init and kept beside the data directory, readable only by its owner; so is the
password of the application's own role (``cad_app``, see ``ops.db_roles``), which the server
processes use instead of the superuser.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PG_VERSIONS = ("17", "16", "15")
SERVER_USER = "postgres"
DB_USER = "cad"
APP_USER = "cad_app"


class ClusterError(RuntimeError):
    """The embedded cluster could not be set up, started or reached."""


def find_bindir() -> Path:
    """Directory holding initdb and pg_ctl (Debian keeps them out of PATH)."""
    for version in PG_VERSIONS:
        candidate = Path(f"/usr/lib/postgresql/{version}/bin")
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ClusterError(
        "PostgreSQL server binaries not found: install postgresql-15 and postgresql-15-postgis-3 "
        "(run `ops/setup`), or set CAD_DATABASE_URL to use an existing server"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Cluster:
    """One cluster directory: ``root/data`` (PGDATA), ``root/run`` (socket), ``root/password``."""

    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def password_file(self) -> Path:
        return self.root / "password"

    @property
    def app_password_file(self) -> Path:
        return self.root / "app_password"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "cad", driver: str = "postgresql+asyncpg") -> str:
        """The superuser's URL: for migrations and administration, not for serving."""
        return f"{driver}://{DB_USER}:{self.password()}@127.0.0.1:{self.port}/{database}"

    def app_url(self, database: str = "cad", driver: str = "postgresql+asyncpg") -> str:
        """The application role's URL (the role exists once ``ops.db_roles.grant`` ran)."""
        return f"{driver}://{APP_USER}:{self.app_password()}@127.0.0.1:{self.port}/{database}"

    def app_password(self) -> str:
        """The application role's password, made on first use (clusters older than the role)."""
        if not self.password_file.exists():
            self.password()  # the cluster's own error: not initialised
        if not self.app_password_file.exists():
            tmp = self.app_password_file.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(24) + "\n")
            tmp.chmod(0o600)
            tmp.replace(self.app_password_file)
        return self.app_password_file.read_text().strip()

    def password(self) -> str:
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError as exc:
            raise ClusterError(
                f"cluster at {self.root} is not initialised: run `cad db init`"
            ) from exc

    # -- running commands as the server user ---------------------------------------------------

    def _as_server_user(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["runuser", "-u", _server_user(), "--", *argv]

    def _run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = self._as_server_user(argv)
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise ClusterError(
                f"{Path(argv[0]).name} failed: {result.stderr.strip() or result.stdout}"
            )
        return result

    # -- lifecycle -----------------------------------------------------------------------------

    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init(self) -> bool:
        """Create the cluster if it does not exist. Returns True when it was created."""
        if self.initialised():
            return False
        bindir = find_bindir()
        self.root.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(exist_ok=True)
        password = secrets.token_urlsafe(24)
        self.password_file.write_text(password + "\n")
        self.password_file.chmod(0o600)
        pwfile = self.root / ".initpw"
        pwfile.write_text(password + "\n")
        _give_to_server_user(self.root, pwfile)
        if os.geteuid() == 0:
            _allow_traverse(self.root)
        try:
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    DB_USER,
                    "--pwfile",
                    str(pwfile),
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# cad embedded cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.run_dir}'\n"
                "max_connections = 200\n"
                "shared_buffers = 256MB\n"
                "work_mem = 16MB\n"
                "fsync = on\n"
                "synchronous_commit = on\n"
            )
        return True

    def _clear_stale_pid(self) -> None:
        """Remove a postmaster.pid left by a server that is no longer running."""
        pidfile = self.data / "postmaster.pid"
        if not pidfile.exists():
            return
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (ValueError, IndexError):
            pid = -1
        if pid > 0 and _is_postgres(pid):
            return
        log.warning("removing stale lock file %s (pid %s is not a running server)", pidfile, pid)
        pidfile.unlink(missing_ok=True)
        for sock in self.run_dir.glob(".s.PGSQL.*"):
            sock.unlink(missing_ok=True)

    def running(self) -> bool:
        if not self.initialised():
            return False
        result = self._run(
            [str(find_bindir() / "pg_ctl"), "status", "-D", str(self.data)], check=False
        )
        return result.returncode == 0

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (recovering from a crash or a stale lock) and wait until it accepts."""
        if not self.initialised():
            raise ClusterError(f"no cluster at {self.data}: run `cad db init`")
        if self.running():
            return
        # The backends of a server killed with -9 hold its shared memory until they notice.
        self._end_orphans(5.0)
        self._clear_stale_pid()
        if os.geteuid() == 0:
            _give_to_server_user(self.root)
        result = self._run(
            [
                str(find_bindir() / "pg_ctl"),
                "start",
                "-D",
                str(self.data),
                "-l",
                str(self.log_file),
                "-o",
                f"-p {self.port}",
                "-w",
                "-t",
                str(int(timeout)),
            ],
            check=False,
        )
        if result.returncode != 0:
            tail = _tail(self.log_file)
            raise ClusterError(f"the database server did not start (port {self.port}):\n{tail}")
        _wait_for_port(self.port, timeout)

    # -- run in the foreground, as a supervisor's child -----------------------------------------

    def postmaster_pid(self) -> int | None:
        """The pid in postmaster.pid when it is a running server, else None."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if _is_postgres(pid) else None

    def accepting(self, pid: int) -> bool:
        """Has the server ``pid`` finished starting (recovery included)? PostgreSQL writes its
        status on the last line of postmaster.pid."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"

    def spawn(self, orphan_wait_s: float = 5.0) -> subprocess.Popen[bytes]:
        """Start the server as our child, in the foreground (``postgres``, not ``pg_ctl``, so
        that its exit is seen at once), its output appended to the server log.

        After a crash (``kill -9`` of the postmaster) its backends may still hold the shared
        memory, and PostgreSQL refuses to start until they are gone: wait for them, then clear
        the stale lock file."""
        if not self.initialised():
            raise ClusterError(f"no cluster at {self.data}: run `cad db init`")
        running = self.postmaster_pid()
        if running is not None:
            raise ClusterError(f"the database server is already running (pid {running})")
        self._end_orphans(orphan_wait_s)
        self._clear_stale_pid()
        as_user: dict[str, object] = {}
        if os.geteuid() == 0:
            _give_to_server_user(self.root)
            entry = pwd.getpwnam(_server_user())
            as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        with self.log_file.open("ab") as log_out:
            return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
                [str(find_bindir() / "postgres"), "-D", str(self.data), "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log_out,
                stderr=subprocess.STDOUT,
                cwd=self.data,
                start_new_session=True,
                **as_user,
            )

    def _orphans(self) -> list[int]:
        """Server processes of this cluster left without their postmaster (they work in the
        data directory)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if Path(os.readlink(entry / "cwd")) == self.data and _is_postgres(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def _end_orphans(self, wait_s: float) -> None:
        """Let the orphans notice their postmaster's death and go; end the slow ones."""
        deadline = time.monotonic() + wait_s
        while (left := self._orphans()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in left:
            log.warning("ending pid %s, a server process left by a crashed postmaster", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        while self._orphans() and time.monotonic() < deadline + 2:
            time.sleep(0.05)

    def stop(self) -> None:
        if self.running():
            self._run(
                [str(find_bindir() / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w"]
            )

    def destroy(self) -> None:
        with contextlib.suppress(ClusterError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _server_user() -> str:
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            check=True,
        )
    return SERVER_USER


def _give_to_server_user(root: Path, *extra: Path) -> None:
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(_server_user())
    for path in (root, root / "data", root / "run", *extra):
        if path.exists():
            os.chown(path, entry.pw_uid, entry.pw_gid)
    for sub in (root / "data",):
        if sub.exists():
            for dirpath, dirnames, filenames in os.walk(sub):
                for name in (*dirnames, *filenames):
                    with contextlib.suppress(FileNotFoundError):
                        os.lchown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)
    log_file = root / "server.log"
    if log_file.exists():
        os.chown(log_file, entry.pw_uid, entry.pw_gid)
    else:
        log_file.touch()
        os.chown(log_file, entry.pw_uid, entry.pw_gid)
    # The password file stays root's: the server never needs it.


def _allow_traverse(path: Path) -> None:
    """The server user must reach its directory through ours."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _is_postgres(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"postgres" in cmdline


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise ClusterError(f"the database server is not accepting connections on port {port}")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"
