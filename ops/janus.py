"""A private Janus WebRTC server (the video consultations' SFU), run from the system's binary.

Used when no existing Janus is configured (``CAD_JANUS_URL``): like the embedded PostgreSQL, it
writes its own configuration under a base directory (``var/janus`` by default), starts
``/usr/bin/janus`` in the foreground as a subprocess and waits until its websocket accepts.
Only the VideoRoom plugin and the websockets transport are loaded, bound to 127.0.0.1 (clients
never talk to Janus: our signaling does); every request must carry the API secret, generated at
the first start and kept in a file only its owner reads; the admin API is not served.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ops import child_process
from ops.pgcluster import free_port

log = logging.getLogger(__name__)

LIB_DIR = Path("/usr/lib/x86_64-linux-gnu/janus")
PLUGIN = "libjanus_videoroom.so"
TRANSPORT = "libjanus_websockets.so"
# Janus ends a session this long after its last message: our client's keepalive is every
# ``keepalive_s`` (a third of it), so a vanished client's legs end within this many seconds.
SESSION_TIMEOUT_S = 15


class JanusError(RuntimeError):
    """The private Janus could not be configured, started or reached."""


def find_binary() -> Path:
    found = shutil.which("janus") or ("/usr/bin/janus" if Path("/usr/bin/janus").exists() else None)
    if found is None:
        raise JanusError(
            "Janus not found: install the Debian packages janus and janus-tools (run `ops/setup`), "
            "or set CAD_JANUS_URL to use an existing Janus"
        )
    return Path(found)


def _libraries(folder: Path) -> list[str]:
    """The shared objects of one of Janus's module folders (their file names, sorted)."""
    return sorted(p.name for p in folder.glob("*.so")) if folder.is_dir() else []


def jcfg_string(value: str) -> str:
    """A value quoted for a libconfig file (``json.dumps`` escapes as libconfig reads it)."""
    return json.dumps(value)


@dataclass(frozen=True)
class IceServers:
    """Optional STUN/TURN servers Janus gathers candidates through (none on a LAN)."""

    stun: str | None = None  # host:port
    turn: str | None = None  # host:port
    turn_type: str = "udp"
    turn_user: str | None = None
    turn_password: str | None = None


@dataclass
class JanusServer:
    """One Janus process with its configuration, secret, log and recordings under ``root``."""

    root: Path = field(default_factory=lambda: Path("var/janus"))
    port: int = field(default_factory=free_port)
    # Interfaces or addresses (partial strings, as Janus reads them) ICE may use: the media
    # addresses of this host that the peers reach. None: the host's first non-loopback address.
    media_addresses: Sequence[str] | None = None
    rtp_ports: tuple[int, int] = (20000, 20999)
    ice: IceServers = field(default_factory=IceServers)
    session_timeout_s: int = SESSION_TIMEOUT_S
    debug_level: int = 4
    lib_dir: Path = LIB_DIR
    process: subprocess.Popen[bytes] | None = None
    _log_offset: int = 0

    @property
    def config_dir(self) -> Path:
        return self.root / "conf"

    @property
    def secret_file(self) -> Path:
        return self.root / "api_secret"

    @property
    def log_file(self) -> Path:
        return self.root / "janus.log"

    @property
    def recordings_dir(self) -> Path:
        return self.root / "recordings"

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def api_secret(self) -> str:
        """The secret every request carries, made on first use and kept 0600."""
        if not self.secret_file.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.secret_file.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(24) + "\n")
            tmp.chmod(0o600)
            tmp.replace(self.secret_file)
        return self.secret_file.read_text().strip()

    # -- configuration -------------------------------------------------------------------------

    def enforced_addresses(self) -> list[str]:
        if self.media_addresses:
            return list(self.media_addresses)
        return [host_address()]

    def render(self) -> dict[str, str]:
        """The configuration files by name: janus.jcfg and the plugin's and transport's."""
        plugins = [p for p in _libraries(self.lib_dir / "plugins") if p != PLUGIN]
        transports = [t for t in _libraries(self.lib_dir / "transports") if t != TRANSPORT]
        events = _libraries(self.lib_dir / "events")
        loggers = _libraries(self.lib_dir / "loggers")
        low, high = self.rtp_ports
        nat = [f"ice_enforce_list = {jcfg_string(','.join(self.enforced_addresses()))}"]
        if self.ice.stun:
            host, _, port = self.ice.stun.rpartition(":")
            nat += [f"stun_server = {jcfg_string(host)}", f"stun_port = {int(port)}"]
        if self.ice.turn:
            host, _, port = self.ice.turn.rpartition(":")
            nat += [
                f"turn_server = {jcfg_string(host)}",
                f"turn_port = {int(port)}",
                f"turn_type = {jcfg_string(self.ice.turn_type)}",
            ]
            if self.ice.turn_user is not None:
                nat.append(f"turn_user = {jcfg_string(self.ice.turn_user)}")
            if self.ice.turn_password is not None:
                nat.append(f"turn_pwd = {jcfg_string(self.ice.turn_password)}")
        core = f"""# written by cad at each start: do not edit
general: {{
	configs_folder = {jcfg_string(str(self.config_dir.resolve()))}
	plugins_folder = {jcfg_string(str(self.lib_dir / "plugins"))}
	transports_folder = {jcfg_string(str(self.lib_dir / "transports"))}
	events_folder = {jcfg_string(str(self.lib_dir / "events"))}
	loggers_folder = {jcfg_string(str(self.lib_dir / "loggers"))}
	debug_level = {self.debug_level}
	debug_timestamps = true
	debug_colors = false
	api_secret = {jcfg_string(self.api_secret())}
	session_timeout = {self.session_timeout_s}
	candidates_timeout = 45
	reclaim_session_timeout = 0
	server_name = "cad"
	# A few shared media loops rather than a thread per handle (two per participant).
	event_loops = {max(2, os.cpu_count() or 2)}
	protected_folders = ["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sbin", "/sys", "/usr"]
}}
media: {{
	rtp_port_range = "{low}-{high}"
	no_media_timer = 1
	slowlink_threshold = 4
}}
nat: {{
	{chr(10).join(chr(9) + line for line in nat).lstrip()}
	full_trickle = true
}}
plugins: {{
	disable = {jcfg_string(",".join(plugins))}
}}
transports: {{
	disable = {jcfg_string(",".join(transports))}
}}
loggers: {{
	disable = {jcfg_string(",".join(loggers))}
}}
events: {{
	broadcast = false
	disable = {jcfg_string(",".join(events))}
}}
"""
        websockets = f"""# written by cad at each start: do not edit
general: {{
	events = false
	json = "compact"
	ws = true
	ws_port = {self.port}
	ws_ip = "127.0.0.1"
	ws_acl = "127."
	wss = false
}}
admin: {{
	admin_ws = false
	admin_wss = false
}}
"""
        videoroom = (
            "# written by cad at each start: do not edit\n"
            "# no static rooms: the consultations create theirs through the API\n"
            "general: {\n"
            "\tstring_ids = false\n"
            "\tevents = false\n"
            "\tlock_rtp_forward = true\n"
            "\tlock_play_file = true\n"
            "}\n"
        )
        return {
            "janus.jcfg": core,
            "janus.transport.websockets.jcfg": websockets,
            "janus.plugin.videoroom.jcfg": videoroom,
        }

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        for name, text in self.render().items():
            (self.config_dir / name).write_text(text)

    # -- lifecycle -----------------------------------------------------------------------------

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start Janus and return at once (the supervisor watches it: ``serving``)."""
        binary = find_binary()
        self.write_config()
        out = self.log_file.open("ab")
        self._log_offset = out.tell()  # the log is appended to: look only at this run's lines
        self.process = subprocess.Popen(
            [str(binary), "-C", str((self.config_dir / "janus.jcfg").resolve()),
             "-F", str(self.config_dir.resolve()), "-o"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        return self.process

    def serving(self) -> bool:
        """The websocket transport of this run has started and accepts."""
        return _accepts(self.port) and _log_has(
            self.log_file, self._log_offset, "Websockets server started"
        )

    def start(self, wait: float = 20.0) -> None:
        """Start in the foreground and return once its websocket accepts; JanusError if not."""
        if self.running:
            return
        process = self.spawn()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.process = None
                raise JanusError(f"janus exited with {process.returncode}: "
                                 f"{_tail(self.log_file)}")
            if self.serving():
                log.info("janus started on %s (pid %s)", self.url, process.pid)
                return
            time.sleep(0.05)
        self.stop()
        raise JanusError(f"janus did not accept on port {self.port} in {wait} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        child_process.stop(process)


def host_address() -> str:
    """This host's address on its default route (no packet is sent), or the loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
            return str(sock.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _log_has(path: Path, offset: int, text: str) -> bool:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return text.encode() in f.read()
    except FileNotFoundError:
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
