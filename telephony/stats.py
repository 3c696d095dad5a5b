"""Per-seat and per-queue statistics from call and pause facts (pure functions).

Answer time is the time from arrival in the queue to answer (Asterisk's ``HoldTime`` when known),
the NENA figure call centres report as average and 90th percentile. Percentiles use the
nearest-rank method, so a reported value is always one that was measured.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CallFact:
    call_id: str
    queue: str
    seat: str | None
    answered: bool
    abandoned: bool
    answer_seconds: float | None
    talk_seconds: float | None
    kind: str = "voice"


@dataclass(frozen=True)
class PauseFact:
    seat: str
    seconds: float
    reason: str | None = None


@dataclass
class Figures:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    answer_avg: float | None = None
    answer_p90: float | None = None
    talk_total: float = 0.0
    talk_avg: float | None = None
    pause_total: float = 0.0
    pause_by_reason: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "offered": self.offered, "answered": self.answered, "abandoned": self.abandoned,
            "answer_avg_s": self.answer_avg, "answer_p90_s": self.answer_p90,
            "talk_total_s": round(self.talk_total, 3), "talk_avg_s": self.talk_avg,
            "pause_total_s": round(self.pause_total, 3),
            "pause_by_reason_s": {k: round(v, 3) for k, v in self.pause_by_reason.items()},
        }


def percentile(values: Iterable[float], p: float) -> float | None:
    """Nearest-rank percentile (``p`` in 0..100); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} is outside 0..100")
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def _fill(fig: Figures, answers: list[float], talks: list[float]) -> None:
    if answers:
        fig.answer_avg = round(sum(answers) / len(answers), 3)
        fig.answer_p90 = percentile(answers, 90)
    fig.talk_total = sum(talks)
    if talks:
        fig.talk_avg = round(sum(talks) / len(talks), 3)


def by_queue(calls: Iterable[CallFact]) -> dict[str, Figures]:
    figures: dict[str, Figures] = {}
    answers: dict[str, list[float]] = {}
    talks: dict[str, list[float]] = {}
    for c in calls:
        fig = figures.setdefault(c.queue, Figures())
        fig.offered += 1
        if c.answered:
            fig.answered += 1
            if c.answer_seconds is not None:
                answers.setdefault(c.queue, []).append(c.answer_seconds)
            if c.talk_seconds is not None:
                talks.setdefault(c.queue, []).append(c.talk_seconds)
        elif c.abandoned:
            fig.abandoned += 1
    for queue, fig in figures.items():
        _fill(fig, answers.get(queue, []), talks.get(queue, []))
    return figures


def by_seat(calls: Iterable[CallFact], pauses: Iterable[PauseFact] = ()) -> dict[str, Figures]:
    """Answered calls and their times per seat; an abandon counts for the seat it rang."""
    figures: dict[str, Figures] = {}
    answers: dict[str, list[float]] = {}
    talks: dict[str, list[float]] = {}
    for c in calls:
        if c.seat is None:
            continue
        fig = figures.setdefault(c.seat, Figures())
        fig.offered += 1
        if c.answered:
            fig.answered += 1
            if c.answer_seconds is not None:
                answers.setdefault(c.seat, []).append(c.answer_seconds)
            if c.talk_seconds is not None:
                talks.setdefault(c.seat, []).append(c.talk_seconds)
        elif c.abandoned:
            fig.abandoned += 1
    for p in pauses:
        fig = figures.setdefault(p.seat, Figures())
        fig.pause_total += p.seconds
        key = p.reason or ""
        fig.pause_by_reason[key] = fig.pause_by_reason.get(key, 0.0) + p.seconds
    for seat, fig in figures.items():
        _fill(fig, answers.get(seat, []), talks.get(seat, []))
    return figures
