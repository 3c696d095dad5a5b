"""The figures of one fault, and the table of all of them printed at the end of the run."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Figures:
    fault: str
    #: acknowledged writes a second from the fault's start until the app served again (over
    #: one second at least)
    load_held: float
    #: seconds from the fault's start until a read was answered again
    outage_s: float
    #: seconds from the fault's end (cause removed) until a read was answered again
    recovery_s: float
    recovered: str  # by itself | restarted by harness
    acked: int
    lost: int
    doubled: int
    events_missed: int
    events_twice: int
    retries: int
    #: writes whose retry was told the first attempt's outcome is unknown (never done twice)
    unknown: int


FIGURES = pytest.StashKey[list[Figures]]()

_HEAD = (
    "fault",
    "load held (acked/s)",
    "outage (s)",
    "recovery (s)",
    "recovered",
    "acked",
    "lost",
    "doubled",
    "events missed",
    "events twice",
    "retries",
    "outcome unknown",
)


def table(rows: list[Figures]) -> list[str]:
    """A Markdown table, as docs/reliability.md shows it."""
    lines = ["| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    for r in rows:
        cells = (
            r.fault,
            f"{r.load_held:.1f}",
            f"{r.outage_s:.2f}",
            f"{r.recovery_s:.2f}",
            r.recovered,
            str(r.acked),
            str(r.lost),
            str(r.doubled),
            str(r.events_missed),
            str(r.events_twice),
            str(r.retries),
        str(r.unknown),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return lines
