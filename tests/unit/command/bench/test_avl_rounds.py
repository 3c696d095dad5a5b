"""``cad bench avl --rounds``: the summary compares the medians of the rounds of each phase."""

from __future__ import annotations

from command.bench.avl import BARE, OURS, Phase, Result, _summary, p99_of
from command.bench.stats import Timing


def _phase(server: str, phase: str, p99: float, cpu: float = 50.0) -> Phase:
    return Phase(
        server=server, phase=phase, consoles=200, stalled=5 if phase != "steady" else 0,
        seconds=30, sent_per_s=1000, accepted_per_s=None, delivered_per_s=2e5,
        delivered_share=1.0, latency=Timing(100, p99 / 4, p99 / 2, p99, p99 * 2), fanout=None,
        server_cpu_pct=cpu, server_rss_mib=600, database_cpu_pct=None, loadgen_cpu_pct=70,
        refusals={}, lost=0, load=1.0,
    )


def test_the_rounds_are_compared_by_their_medians() -> None:
    phases = [
        _phase(OURS, "steady", 100), _phase(OURS, "stalled consoles", 300),
        _phase(OURS, "steady", 140), _phase(OURS, "stalled consoles", 105),
        _phase(OURS, "steady", 120), _phase(OURS, "stalled consoles", 126),
        _phase(BARE, "steady", 60, cpu=25.0),
    ]
    result = Result(5000, 5, 200, 5, 0, phases)
    assert p99_of(result, OURS, "steady") == 120
    assert p99_of(result, OURS, "stalled consoles") == 126  # one noisy round does not decide
    assert p99_of(result, BARE, "stalled consoles") is None
    summary = _summary(result)
    assert "p99 ours / bare: 2.00x" in summary
    assert "stalled consoles raise our p99 by +5.0%" in summary
    assert "server CPU ours / bare: 2.00x" in summary
