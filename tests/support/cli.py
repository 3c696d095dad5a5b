"""Running the real `cad` command line in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys


def cad(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "command", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
        timeout=120,
    )
