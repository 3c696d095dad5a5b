"""The lock file: what ``requirements.lock`` pins, and what an environment holds beyond it.

``ops/setup`` installs from the lock, then runs ``python -m ops.lockfile extras`` in the .venv
and uninstalls what it prints, so that a package dropped from the lock does not linger and hide
a missing dependency. Standard library only: it runs before the project itself is installed.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from importlib.metadata import distributions
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"
#: Installed but not pinned: the installer itself, and the project (installed from its source).
UNPINNED = frozenset({"pip", "cad"})

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def normalise(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    """The ``name==version`` lines of a lock, by normalised name."""
    return {normalise(m[1]): m[2] for m in _PIN.finditer(text)}


def installed() -> dict[str, str]:
    """The distributions of the running interpreter's environment, by normalised name."""
    return {normalise(d.metadata["Name"]): d.version for d in distributions()}


def extras(locked: Mapping[str, str], present: Mapping[str, str]) -> list[str]:
    """Installed distributions the lock does not pin."""
    return sorted(set(present) - set(locked) - UNPINNED)


def main(argv: Sequence[str]) -> int:
    if list(argv) != ["extras"]:
        print("usage: python -m ops.lockfile extras", file=sys.stderr)
        return 2
    print(" ".join(extras(pins(LOCK.read_text()), installed())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
