"""How long the suite loads and faults, from the environment: short in `make test`, long in
`make test-faults` (``CAD_FAULT_SECONDS``, ``CAD_FAULT_FREEZE_SECONDS``)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Durations:
    #: seconds of load before and after each fault
    load_s: float
    #: how long the database stays frozen (SIGSTOP .. SIGCONT)
    freeze_s: float
    #: the app must serve again within this many seconds of a fault's end
    recovery_limit_s: float
    #: how long clients keep retrying what is not answered yet, after the load stops
    drain_s: float


def from_environment() -> Durations:
    return Durations(
        load_s=float(os.environ.get("CAD_FAULT_SECONDS", "3")),
        freeze_s=float(os.environ.get("CAD_FAULT_FREEZE_SECONDS", "3")),
        recovery_limit_s=10.0,
        drain_s=float(os.environ.get("CAD_FAULT_DRAIN_SECONDS", "20")),
    )
