"""What a console shows of each participant while a consultation runs: whether it sends audio
and video, whether it is speaking, and its connection quality (no I/O).

This is live state, replaced by each report from the media plane: it is kept in memory and
never written row by row (``command.consulting.live``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from video.errors import InvalidInput

MAX_RTT_MS = 60_000
MAX_BITRATE_KBPS = 1_000_000


@dataclass(frozen=True)
class Quality:
    """One stats report: packet loss (0..1), round-trip time and the bitrate received."""

    loss: float
    rtt_ms: float
    bitrate_kbps: float

    def __post_init__(self) -> None:
        for name, value, top in (
            ("loss", self.loss, 1.0),
            ("rtt_ms", self.rtt_ms, float(MAX_RTT_MS)),
            ("bitrate_kbps", self.bitrate_kbps, float(MAX_BITRATE_KBPS)),
        ):
            if not 0.0 <= value <= top:  # (NaN fails too)
                raise InvalidInput(
                    f"{name} {value} is outside 0..{top:g}",
                    code="consultation.quality_range",
                    field=name,
                    value=value,
                    max=top,
                )

    @property
    def grade(self) -> str:
        """good, fair or poor: what a console colours the participant by."""
        if self.loss >= 0.10 or self.rtt_ms >= 600:
            return "poor"
        if self.loss >= 0.03 or self.rtt_ms >= 250:
            return "fair"
        return "good"


@dataclass(frozen=True)
class MediaState:
    """A participant's media as last reported."""

    sending_audio: bool = False
    sending_video: bool = False
    speaking: bool = False
    quality: Quality | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class MediaReport:
    """What the media plane reports; None leaves a field as it was."""

    sending_audio: bool | None = None
    sending_video: bool | None = None
    speaking: bool | None = None
    quality: Quality | None = None


def apply(state: MediaState, report: MediaReport, at: datetime) -> tuple[MediaState, bool]:
    """The state after ``report``, and whether a console must be told now: a change of what
    is sent or who speaks, or of the quality's grade (not every figure of every report)."""
    new = replace(
        state,
        sending_audio=state.sending_audio if report.sending_audio is None else report.sending_audio,
        sending_video=state.sending_video if report.sending_video is None else report.sending_video,
        speaking=state.speaking if report.speaking is None else report.speaking,
        quality=state.quality if report.quality is None else report.quality,
        at=at,
    )
    return new, _shown(new) != _shown(state)


def _shown(s: MediaState) -> tuple[bool, bool, bool, str | None]:
    """What a console shows of a participant's media."""
    return (
        s.sending_audio,
        s.sending_video,
        s.speaking,
        None if s.quality is None else s.quality.grade,
    )
