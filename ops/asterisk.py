"""A private Asterisk from the shared archive (``<shared>/asterisk/``), for tests and benchmarks.

The archive is unpacked once into a folder of its own (made with ``tempfile.mkdtemp``); each
:class:`Asterisk` writes its configuration (the fixture ``asterisk-*.conf`` files of
``<shared>/fixtures/ami``, a free AMI port, modules, music on hold and the attended-transfer
feature code) into a run folder, starts Asterisk in the foreground as a subprocess and waits until
AMI answers with its banner and the modules are loaded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ops import child_process
from ops.pgcluster import free_port

# the fixture manager.conf's account; this Asterisk listens on the loopback only
SECRET = "cadsecret"  # noqa: S105
ATXFER_CODE = "*2"

# Contexts the fixture dialplan lacks: call backs dial ``outgoing``; a transfer target and a
# supervisor's phone answer and stay on the line.
EXTRA_DIALPLAN = """
[outgoing]
exten => _X.,1,NoOp(Call back to ${EXTEN})
 same => n,GotoIf($["${EXTEN:0:1}" = "0"]?busy)
 same => n,Answer()
 same => n,Wait(${IF($["${TALK}" = ""]?3:${TALK})})
 same => n,Hangup()
 same => n(busy),Hangup(17)
exten => _+X.,1,Goto(${EXTEN:1},1)
[external]
exten => _X.,1,NoOp(External party ${EXTEN})
 same => n,Answer()
 same => n,Wait(60)
 same => n,Hangup()
"""


def archive(shared: Path) -> Path:
    return shared / "asterisk" / "asterisk-local-amd64.tar.xz"


def unpack(shared: Path, into: Path) -> Path:
    """Unpack the archive into ``into``; returns the install prefix (``into/asterisk``)."""
    with tarfile.open(archive(shared), "r:xz") as tar:
        tar.extractall(into, filter="tar")
    return into / "asterisk"


def _ami_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.settimeout(1)
            return sock.recv(64).startswith(b"Asterisk Call Manager")
    except OSError:
        return False


@dataclass
class Asterisk:
    """One Asterisk process on its own AMI port, with its own run folder."""

    prefix: Path
    run: Path
    fixtures: Path  # the ``asterisk-*.conf`` files
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    queue_options: str = ""  # extra lines for the emergency queue
    atxfer: bool = True  # the attended-transfer feature code in features.conf

    @property
    def secret(self) -> str:
        return SECRET

    @property
    def config(self) -> Path:
        return self.run / "etc" / "asterisk.conf"

    def write_config(self) -> None:
        w, p = self.run, self.prefix
        for sub in ("etc", "log", "spool/monitor", "run", "varlib"):
            (w / sub).mkdir(parents=True, exist_ok=True)
        etc = w / "etc"
        self.config.write_text(
            "[directories]\n"
            f"astetcdir => {etc}\nastmoddir => {p}/lib/asterisk/modules\n"
            f"astvarlibdir => {w}/varlib\nastdbdir => {w}/varlib\nastkeydir => {w}/varlib\n"
            f"astdatadir => {p}/var/lib/asterisk\nastspooldir => {w}/spool\n"
            f"astrundir => {w}/run\nastlogdir => {w}/log\nastsbindir => {p}/sbin\n"
        )
        manager = (self.fixtures / "asterisk-manager.conf").read_text()
        (etc / "manager.conf").write_text(manager.replace("port = 5038", f"port = {self.port}"))
        queues = (self.fixtures / "asterisk-queues.conf").read_text()
        (etc / "queues.conf").write_text(queues.rstrip("\n") + "\n" + self.queue_options)
        dialplan = (self.fixtures / "asterisk-extensions.conf").read_text()
        (etc / "extensions.conf").write_text(dialplan + EXTRA_DIALPLAN)
        (etc / "modules.conf").write_text("[modules]\nautoload = yes\n")
        (etc / "musiconhold.conf").write_text("")
        (etc / "features.conf").write_text(
            f"[featuremap]\natxfer => {ATXFER_CODE}\n" if self.atxfer else "[featuremap]\n")
        (etc / "logger.conf").write_text("[logfiles]\nmessages => notice,warning,error\n")

    @property
    def monitor_dir(self) -> Path:
        return self.run / "spool" / "monitor"

    def start(self, wait: float = 30.0) -> None:
        """Start in the foreground (``-f``) and wait until AMI sends its banner."""
        if self.process is not None and self.process.poll() is None:
            return
        self.write_config()
        env = dict(os.environ, LD_LIBRARY_PATH=str(self.prefix / "lib"))
        log = (self.run / "log" / "console.txt").open("ab")
        self.process = subprocess.Popen(
            [str(self.prefix / "sbin" / "asterisk"), "-C", str(self.config), "-f", "-n", "-q"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Asterisk exited with {self.process.returncode}: "
                                   f"see {self.run / 'log' / 'console.txt'}")
            if _ami_answers(self.port) and self._fully_booted():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Asterisk AMI did not answer on port {self.port} in {wait} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        child_process.stop(process)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _fully_booted(self) -> bool:
        # AMI answers before the modules are loaded: QueueAdd would be refused
        env = dict(os.environ, LD_LIBRARY_PATH=str(self.prefix / "lib"))
        done = subprocess.run(
            [str(self.prefix / "sbin" / "asterisk"), "-C", str(self.config), "-rx",
             "core waitfullybooted"], capture_output=True, env=env, timeout=30, check=False)
        return done.returncode == 0

    def cli(self, command: str) -> str:
        """One console command through the remote console (``-rx``)."""
        env = dict(os.environ, LD_LIBRARY_PATH=str(self.prefix / "lib"))
        done = subprocess.run(
            [str(self.prefix / "sbin" / "asterisk"), "-C", str(self.config), "-rx", command],
            capture_output=True, env=env, timeout=10, check=False,
        )
        return done.stdout.decode(errors="replace")


class Installation:
    """The archive unpacked once; Asterisk processes made from it."""

    def __init__(self, shared: Path, prefix: str = "cad-asterisk-") -> None:
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self.fixtures = shared / "fixtures" / "ami"
        self.prefix = unpack(shared, self.root)
        self._made: list[Asterisk] = []

    def asterisk(self, queue_options: str = "", atxfer: bool = True) -> Asterisk:
        run = Path(tempfile.mkdtemp(prefix="run-", dir=self.root))
        made = Asterisk(self.prefix, run, self.fixtures, queue_options=queue_options,
                        atxfer=atxfer)
        self._made.append(made)
        return made

    def cleanup(self) -> None:
        for made in self._made:
            with contextlib.suppress(Exception):
                made.stop()
        shutil.rmtree(self.root, ignore_errors=True)
