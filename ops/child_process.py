"""Stopping a server process that ops started: politely, then for good."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate ``process`` and wait for it; kill it if it does not end within 10 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
