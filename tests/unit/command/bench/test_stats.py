"""The benchmarks' one percentile function."""

from __future__ import annotations

import pytest

from command.bench.stats import Timing, percentile


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    assert percentile([10.0], 0.95) == 10.0
    assert percentile([5.0, 1.0, 3.0], 0.0) == 1.0
    assert percentile([5.0, 1.0, 3.0], 1.0) == 5.0


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 95)


def test_timing_summarises() -> None:
    t = Timing.of([float(n) for n in range(1, 101)])
    assert t.runs == 100
    assert t.p50_ms == pytest.approx(50.5)
    assert t.max_ms == 100.0
    assert t.p95_ms == pytest.approx(95.05)
