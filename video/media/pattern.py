"""A video test pattern that a receiver decodes back to its sender and frame number.

The frame is the sender's colour (one per participant index) with two rows of black and white
blocks: the index in 8 bits, and the frame counter in 16 bits. Blocks are large (20 to 40
pixels) so that a VP8 encoder at a low bitrate keeps them readable; a block reads as 1 when its
centre's mean luma is above the middle.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from dataclasses import dataclass

import av
import numpy as np
from aiortc import VideoStreamTrack
from numpy.typing import NDArray

WIDTH, HEIGHT = 320, 240
CLOCK_RATE = 90_000  # RTP's video clock
INDEX_BITS, COUNTER_BITS = 8, 16
# index blocks: one row of 8 blocks 40x40 at the top; counter: 16 blocks 20x40 at the bottom
INDEX_ROW = (20, 60)
COUNTER_ROW = (180, 220)
# distinct, saturated colours (RGB); index n has PALETTE[n % len(PALETTE)]
PALETTE: tuple[tuple[int, int, int], ...] = (
    (220, 40, 40), (40, 180, 60), (40, 80, 220), (230, 200, 40),
    (200, 60, 200), (40, 200, 200), (240, 130, 30), (130, 130, 130),
)

Image = NDArray[np.uint8]


def colour(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


def _blocks(image: Image, row: tuple[int, int], bits: int, value: int) -> None:
    width = WIDTH // bits
    top, bottom = row
    for bit in range(bits):
        on = (value >> (bits - 1 - bit)) & 1
        image[top:bottom, bit * width:(bit + 1) * width] = 255 if on else 0


def base_image(index: int) -> Image:
    """The sender's frame without its counter."""
    image = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    image[:, :] = colour(index)
    _blocks(image, INDEX_ROW, INDEX_BITS, index)
    return image


def render(index: int, counter: int, base: Image | None = None) -> Image:
    image = (base_image(index) if base is None else base).copy()
    _blocks(image, COUNTER_ROW, COUNTER_BITS, counter % (1 << COUNTER_BITS))
    return image


def _read(luma: Image, row: tuple[int, int], bits: int) -> int:
    width = WIDTH // bits
    top, bottom = row
    value = 0
    margin_x, margin_y = width // 4, (bottom - top) // 4
    for bit in range(bits):
        block = luma[top + margin_y:bottom - margin_y,
                     bit * width + margin_x:(bit + 1) * width - margin_x]
        value = (value << 1) | int(block.mean() > 128)
    return value


@dataclass(frozen=True)
class Identified:
    """What a decoded frame says: the sender's index, its frame counter, its colour's index
    (the palette entry nearest to the frame's background, which should agree)."""

    index: int
    counter: int
    colour_index: int


def nearest_colour(rgb: tuple[float, float, float]) -> int:
    distances = [sum((a - b) ** 2 for a, b in zip(rgb, c, strict=True)) for c in PALETTE]
    return int(np.argmin(distances))


def background(image: Image) -> tuple[float, float, float]:
    """The mean colour of the band between the two rows of blocks."""
    band = image[INDEX_ROW[1] + 20:COUNTER_ROW[0] - 20, :, :].reshape(-1, 3)
    red, green, blue = band.mean(axis=0)
    return float(red), float(green), float(blue)


def identify(frame: av.VideoFrame) -> Identified:
    """Whose pattern frame this is and its number (scaled back to the pattern's size first)."""
    image: Image = np.asarray(frame.to_ndarray(format="rgb24", width=WIDTH, height=HEIGHT),
                              dtype=np.uint8)
    luma = (0.299 * image[:, :, 0] + 0.587 * image[:, :, 1] + 0.114 * image[:, :, 2])
    return Identified(
        index=_read(luma.astype(np.uint8), INDEX_ROW, INDEX_BITS),
        counter=_read(luma.astype(np.uint8), COUNTER_ROW, COUNTER_BITS),
        colour_index=nearest_colour(background(image)),
    )


class PatternTrack(VideoStreamTrack):
    """The pattern of participant ``index`` at ``fps`` frames a second, counting from 0;
    ``scale`` 2 sends it at 640x480 (each pixel doubled: ``identify`` reads it the same)."""

    def __init__(self, index: int, scale: int = 1, fps: float = 30.0) -> None:
        super().__init__()
        self.index = index
        self.sent = 0
        self.scale = scale
        self.fps = fps
        self._started: float | None = None
        self._base = base_image(index)

    async def _next_timestamp(self) -> tuple[int, fractions.Fraction]:
        """Frame ``sent``'s presentation time at ``fps`` (90 kHz clock), once it is due."""
        now = time.monotonic()
        if self._started is None:
            self._started = now
        # A live source that fell behind skips the frames it missed instead of bursting them.
        self.sent = max(self.sent, int((now - self._started) * self.fps))
        due = self._started + self.sent / self.fps
        if due > now:
            await asyncio.sleep(due - now)
        return int(self.sent * CLOCK_RATE / self.fps), fractions.Fraction(1, CLOCK_RATE)

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self._next_timestamp()
        image = render(self.index, self.sent, self._base)
        if self.scale > 1:
            image = image.repeat(self.scale, axis=0).repeat(self.scale, axis=1)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = pts
        frame.time_base = fractions.Fraction(time_base)
        self.sent += 1
        return frame
