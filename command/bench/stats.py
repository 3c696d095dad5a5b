"""The one way benchmarks summarise latencies: linear-interpolated percentiles, in ms."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, linear between the two closest ranks."""
    if not values:
        raise ValueError("no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is outside 0..1")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class Timing:
    """Latency of one method over ``runs`` samples, milliseconds."""

    runs: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> Timing:
        return cls(
            runs=len(samples_ms),
            p50_ms=percentile(samples_ms, 0.50),
            p95_ms=percentile(samples_ms, 0.95),
            p99_ms=percentile(samples_ms, 0.99),
            max_ms=max(samples_ms),
        )

    def line(self) -> str:
        return (
            f"p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
            f"max {self.max_ms:.1f} ms ({self.runs} runs)"
        )


def load_average() -> float:
    """The machine's one-minute load, printed beside every figure (they follow it)."""
    return os.getloadavg()[0]
