"""The shared Asterisk build for the tests: found beside the checkout, skipped loudly if absent."""

from __future__ import annotations

from pathlib import Path

from ops.asterisk import Asterisk, Installation, archive
from ops.tcp_relay import LinkCut

SHARED = Path(__file__).resolve().parents[3] / "shared"
MISSING = (
    f"REAL ASTERISK TESTS SKIPPED: the archive {archive(SHARED)} is absent; "
    "these tests need the shared Asterisk build"
)

__all__ = ["MISSING", "SHARED", "Asterisk", "Installation", "LinkCut", "available", "install"]


def available() -> bool:
    return archive(SHARED).is_file()


def install() -> Installation:
    return Installation(SHARED, prefix="cad-test-asterisk-")
