"""Running the real `cad` command line in a subprocess, on a test database or a throwaway
embedded cluster."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ops.pgcluster import Cluster, free_port
from tests.support.log_secrets import KNOWN


def cad(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return cad_in(None, *args, **env)


def cad_in(cwd: Path | None, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`cad` run in the working directory ``cwd`` (where a .env would be read); the password it
    is given and the token it prints are known secrets, its log (stderr) is searched for them
    (tests.support.log_secrets)."""
    KNOWN.add(env.get("CAD_NEW_PASSWORD"))
    done = subprocess.run(
        [sys.executable, "-m", "command", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=120,
    )
    if args[:2] == ("device", "add") and done.returncode == 0:
        KNOWN.add(done.stdout.strip())
    KNOWN.output("cad " + " ".join(args[:2]), done.stderr)
    return done


@contextmanager
def embedded_cluster() -> Iterator[dict[str, str]]:
    """Settings for `cad` with its own embedded cluster on a free port (an empty
    CAD_DATABASE_URL overrides one from the environment or a .env file); the cluster is stopped
    and removed afterwards.

    The cluster lives in a directory of its own under the system's temporary folder, not under
    pytest's: pytest makes its base folder private (0700) at the start of every session, which
    would lock the server user out of a cluster that a concurrent session is running."""
    var_dir = Path(tempfile.mkdtemp(prefix="cad-var-"))
    port = free_port()
    try:
        yield {"CAD_VAR_DIR": str(var_dir), "CAD_EMBEDDED_PORT": str(port), "CAD_DATABASE_URL": ""}
    finally:
        Cluster(root=var_dir / "pg", port=port).destroy()
        shutil.rmtree(var_dir, ignore_errors=True)
