"""A small process supervisor: starts children in order, restarts one that dies, stops them all.

``cad serve`` (and ``cad demo``) run the embedded postmaster and the app worker as children of
this loop. A child that exits, however it died (``kill -9`` included), is seen within a tenth of
a second and started again as ``ops.restart_policy`` says, once the children it needs are
running again; one that keeps dying makes the supervisor give up: it stops the others and
exits 1, so that a person or an outer manager (systemd) sees it. SIGTERM or SIGINT stops the
children in the reverse order, each with its own stop signal, then by force after a time limit.

What it knows is written to a JSON state file (atomically, on every change) that the app's
health reads: each child's state, pid, restarts, last exit and since when.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Literal, Protocol

from ops.restart_policy import History, RestartPolicy, decide

log = logging.getLogger(__name__)

TICK_S = 0.1
ChildState = Literal[
    "waiting", "starting", "running", "restarting", "stopping", "stopped", "gave_up"
]


class Process(Protocol):
    """What the supervisor needs of a child process (``subprocess.Popen`` has it)."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def send_signal(self, sig: int) -> None: ...

    def kill(self) -> None: ...


@dataclass
class Adopted:
    """A process we did not start (a cluster started by ``cad db start``): watched by its pid,
    its exit status unknown (-1)."""

    pid: int
    alive: Callable[[int], bool]

    def poll(self) -> int | None:
        return None if self.alive(self.pid) else -1

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


@dataclass(frozen=True)
class ChildSpec:
    """One child: how to start it, when it serves, what it needs running first."""

    name: str
    start: Callable[[], Process]
    ready: Callable[[Process], bool]
    needs: tuple[str, ...] = ()
    stop_signal: int = signal.SIGTERM
    stop_timeout_s: float = 30.0
    start_timeout_s: float = 120.0
    # Exit statuses that restarting cannot help when the child never came up (a setting or a
    # command-line error); once it has served, every death is worth a restart.
    config_exits: frozenset[int] = frozenset()
    # A process already running that this child takes over instead of starting one.
    adopt: Callable[[], Process | None] | None = None


@dataclass
class _Child:
    spec: ChildSpec
    state: ChildState = "waiting"
    proc: Process | None = None
    owned: bool = True
    history: History = field(default_factory=History)
    started_mono: float = 0.0
    since: str = ""
    restart_at: float = 0.0
    last_exit: dict[str, Any] | None = None
    served: bool = False


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def describe_exit(code: int) -> dict[str, Any]:
    """A child's exit status as the state file says it: its code, or the signal that killed
    it."""
    if code < 0 and code != -1:
        return {"code": code, "signal": signal.Signals(-code).name, "at": _now()}
    return {"code": code, "signal": None, "at": _now()}


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file in one step: a reader sees the old state or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=1) + "\n")
    tmp.replace(path)


class Supervisor:
    """Runs ``children`` (in the order given, each after what it ``needs``) until stopped."""

    def __init__(
        self,
        children: list[ChildSpec],
        state_file: Path,
        policy: RestartPolicy | None = None,
    ) -> None:
        self.children = [_Child(spec) for spec in children]
        self.state_file = state_file
        self.policy = policy or RestartPolicy()
        self.since = _now()
        self._stop_asked = False
        self._dirty = True
        # The exit status of a child given up on for a setting or command-line error: the
        # supervisor exits with it, as the command would have without supervision.
        self._config_exit: int | None = None

    # -- the loop --------------------------------------------------------------------------

    def run(self, *, handle_signals: bool = True) -> int:
        """Supervise until SIGTERM or SIGINT or ``stop()`` (0), or until a child is given up on
        (1, or the status of a child's setting or command-line error). Without
        ``handle_signals`` it may run in a thread other than the main one."""
        signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
        previous = {sig: signal.signal(sig, self._ask_stop) for sig in signals}
        status = 0
        try:
            for child in self.children:
                self._set(child, "waiting")
            while not self._stop_asked:
                if any(c.state == "gave_up" for c in self.children):
                    status = self._config_exit or 1
                    break
                for child in self.children:
                    self._step(child, time.monotonic())
                self._flush()
                time.sleep(TICK_S)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return status

    def _ask_stop(self, signum: int, _frame: FrameType | None) -> None:
        log.info("supervisor: %s received, stopping the children", signal.Signals(signum).name)
        self._stop_asked = True

    def stop(self) -> None:
        """Ask the loop to stop the children and return."""
        self._stop_asked = True

    def _step(self, child: _Child, now: float) -> None:
        spec = child.spec
        if child.state in ("starting", "running"):
            assert child.proc is not None
            code = child.proc.poll()
            if code is not None:
                self._died(child, code, now)
            elif child.state == "starting":
                if spec.ready(child.proc):
                    log.info("supervisor: %s is running (pid %s)", spec.name, child.proc.pid)
                    child.served = True
                    self._set(child, "running")
                elif now - child.started_mono > spec.start_timeout_s:
                    log.error("supervisor: %s did not start in %.0f s", spec.name,
                              spec.start_timeout_s)
                    child.proc.kill()
        # Not ``elif``: a child that just died with no delay to wait starts again at once.
        if (
            child.state in ("waiting", "restarting")
            and now >= child.restart_at
            and all(self._running(name) for name in spec.needs)
        ):
            self._start(child, now)

    def _running(self, name: str) -> bool:
        return any(c.spec.name == name and c.state == "running" for c in self.children)

    def _start(self, child: _Child, now: float) -> None:
        spec = child.spec
        adopted = spec.adopt() if spec.adopt is not None and child.history.restarts == 0 else None
        try:
            child.proc = adopted if adopted is not None else spec.start()
        except Exception as exc:
            # A start that fails is a death like any other: the policy decides what follows.
            log.error("supervisor: %s could not start: %s", spec.name, exc)
            child.started_mono = now
            self._died(child, -1, now)
            return
        child.owned = adopted is None
        child.started_mono = now
        how = "took over" if adopted is not None else "started"
        log.info("supervisor: %s %s (pid %s)", how, spec.name, child.proc.pid)
        self._set(child, "starting")

    def _died(self, child: _Child, code: int, now: float) -> None:
        spec = child.spec
        child.last_exit = describe_exit(code)
        child.proc = None
        if code in spec.config_exits and not child.served:
            log.error("supervisor: %s exited with %s: not restarting it", spec.name, code)
            self._config_exit = code
            self._set(child, "gave_up")
            return
        decision = decide(self.policy, child.history, child.started_mono, now)
        child.history = decision.history
        if decision.action == "give_up":
            log.error(
                "supervisor: %s died %d times in %.0f s: giving up",
                spec.name, len(decision.history.deaths), self.policy.window_s,
            )
            self._set(child, "gave_up")
            return
        log.warning(
            "supervisor: %s exited (%s); restart %d in %.2f s",
            spec.name, child.last_exit["signal"] or child.last_exit["code"],
            decision.history.restarts, decision.delay_s,
        )
        child.restart_at = now + decision.delay_s
        self._set(child, "restarting")

    # -- stopping --------------------------------------------------------------------------

    def _stop_all(self) -> None:
        """Stop the children, the last started first: the app before its database."""
        for child in reversed(self.children):
            if child.proc is None or not child.owned:
                if child.state != "gave_up":
                    self._set(child, "stopped")
                continue
            self._set(child, "stopping")
            self._flush()
            self._stop(child)
            self._set(child, "stopped")
        self._flush()

    def _stop(self, child: _Child) -> None:
        proc, spec = child.proc, child.spec
        assert proc is not None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(spec.stop_signal)
            deadline = time.monotonic() + spec.stop_timeout_s
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(TICK_S / 2)
            if proc.poll() is None:
                log.error("supervisor: %s did not stop in %.0f s: killing it", spec.name,
                          spec.stop_timeout_s)
                proc.kill()
                while proc.poll() is None:
                    time.sleep(TICK_S / 2)
        code = proc.poll()
        child.last_exit = describe_exit(code if code is not None else -1)
        child.proc = None
        log.info("supervisor: %s stopped", spec.name)

    # -- the state file --------------------------------------------------------------------

    def _set(self, child: _Child, state: ChildState) -> None:
        if child.state != state or not child.since:
            child.state = state
            child.since = _now()
            self._dirty = True

    def state(self) -> dict[str, Any]:
        return {
            "supervisor": {"pid": os.getpid(), "since": self.since},
            "children": {
                c.spec.name: {
                    "state": c.state,
                    "pid": c.proc.pid if c.proc is not None else None,
                    "restarts": c.history.restarts,
                    "last_exit": c.last_exit,
                    "since": c.since,
                }
                for c in self.children
            },
            "written_at": _now(),
        }

    def _flush(self) -> None:
        if self._dirty:
            try:
                write_state(self.state_file, self.state())
            except OSError as exc:
                # The children matter more than the report: keep them, try again next look.
                log.warning("supervisor: cannot write %s: %s", self.state_file, exc)
                return
            self._dirty = False


@dataclass
class Forked:
    """A child made by ``fork``: waited for without blocking, its status kept once seen."""

    pid: int
    status: int | None = None

    def poll(self) -> int | None:
        if self.status is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.status = -1
            else:
                if pid:
                    self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


PR_SET_PDEATHSIG = 1


def fork(run: Callable[[], int], env: Mapping[str, str]) -> Forked:
    """A child that is a copy of this process running ``run``, with ``env`` added: no
    interpreter start-up and no imports again, so that a worker serves again in a fraction of
    the time a new ``python -m command`` takes. The caller must hold no thread and no event
    loop (the supervisor's loop holds neither)."""
    pid = os.fork()
    if pid != 0:
        return Forked(pid)
    code = 1
    try:
        os.setsid()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        # A supervisor killed with -9 takes its worker with it, rather than leaving it
        # serving with nobody watching.
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        os.environ.update(env)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        code = run()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def spawn(argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A child in its own session: Ctrl-C on the terminal reaches the supervisor only, which
    stops the children in order."""
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, start_new_session=True)


def port_open(host: str, port: int) -> bool:
    """Does something accept connections on ``host:port`` (the app serving)?"""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0
