"""Live media state: a report replaces what it names, and only a change a console shows
(sending, speaking, the quality's grade) is notable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from video.errors import InvalidInput
from video.live import MediaReport, MediaState, Quality, apply

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def test_a_report_changes_what_it_names_only() -> None:
    state, notable = apply(MediaState(), MediaReport(sending_audio=True, speaking=True), T0)
    assert notable
    assert (state.sending_audio, state.sending_video, state.speaking) == (
        True,
        False,
        True,
    )
    state, notable = apply(state, MediaReport(speaking=False), T0)
    assert notable
    assert (state.sending_audio, state.speaking) == (True, False)


def test_figures_within_one_grade_are_not_notable() -> None:
    state, notable = apply(MediaState(), MediaReport(quality=Quality(0.0, 40, 900)), T0)
    assert notable
    assert state.quality is not None
    assert state.quality.grade == "good"
    state, notable = apply(state, MediaReport(quality=Quality(0.01, 60, 850)), T0)
    assert not notable
    assert state.quality == Quality(0.01, 60, 850)
    state, notable = apply(state, MediaReport(quality=Quality(0.2, 60, 300)), T0)
    assert notable
    assert state.quality is not None
    assert state.quality.grade == "poor"


@pytest.mark.parametrize(
    ("loss", "rtt", "grade"),
    [
        (0.0, 10, "good"),
        (0.05, 10, "fair"),
        (0.0, 300, "fair"),
        (0.0, 700, "poor"),
        (0.5, 10, "poor"),
    ],
)
def test_grades(loss: float, rtt: float, grade: str) -> None:
    assert Quality(loss, rtt, 100).grade == grade


@pytest.mark.parametrize(
    ("loss", "rtt", "kbps"),
    [(-0.1, 1, 1), (1.5, 1, 1), (0, -1, 1), (0, 1, -5), (float("nan"), 1, 1)],
)
def test_figures_out_of_range_are_refused(loss: float, rtt: float, kbps: float) -> None:
    with pytest.raises(InvalidInput) as e:
        Quality(loss, rtt, kbps)
    assert e.value.code == "consultation.quality_range"
