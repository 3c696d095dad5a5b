"""An audio test tone: a sine per participant (440 Hz + 110 Hz per index), 48 kHz mono, 20 ms
frames, paced like a microphone."""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import av
import numpy as np
from aiortc import AudioStreamTrack

RATE = 48_000
PTIME = 0.020
SAMPLES = int(RATE * PTIME)


def frequency(index: int) -> float:
    return 440.0 + 110.0 * index


class ToneTrack(AudioStreamTrack):
    """A continuous sine of :func:`frequency` at about -12 dBFS."""

    def __init__(self, index: int, amplitude: float = 0.25) -> None:
        super().__init__()
        self.index = index
        self._amplitude = amplitude
        self._sent = 0  # samples
        self._started: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self._started is None:
            self._started = time.monotonic()
        else:
            wait = self._started + self._sent / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(SAMPLES) + self._sent) / RATE
        wave = self._amplitude * np.sin(2 * math.pi * frequency(self.index) * t)
        samples = (wave * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, RATE)
        self._sent += SAMPLES
        return frame
