"""The test pattern reads back as its sender and frame number, at both sizes and through VP8."""

from __future__ import annotations

import asyncio
import fractions

import av

from video.media.pattern import PALETTE, PatternTrack, identify, nearest_colour, render


def _frames(track: PatternTrack, count: int) -> list[av.VideoFrame]:
    async def take() -> list[av.VideoFrame]:
        return [await track.recv() for _ in range(count)]

    return asyncio.run(take())


def test_a_frame_says_who_sent_it_and_its_number_at_320_and_at_640() -> None:
    for scale, size in ((1, (320, 240)), (2, (640, 480))):
        frames = _frames(PatternTrack(37, scale=scale), 3)
        assert (frames[0].width, frames[0].height) == size
        found = [identify(f) for f in frames]
        assert [f.index for f in found] == [37, 37, 37]
        # In order; a frame the track was too late for is skipped, as a live camera's is.
        counters = [f.counter for f in found]
        assert counters == sorted(set(counters))
        assert all(f.colour_index == 37 % len(PALETTE) for f in found)


def test_the_pattern_survives_a_low_bitrate_vp8_round_trip() -> None:
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 240, "yuv420p"
    encoder.bit_rate = 150_000
    encoder.time_base = fractions.Fraction(1, 30)
    decoder = av.CodecContext.create("libvpx", "r")
    decoded: list[av.VideoFrame] = []
    for n in range(20):
        frame = av.VideoFrame.from_ndarray(render(200, n), format="rgb24")
        frame.pts = n
        for packet in encoder.encode(frame.reformat(format="yuv420p")):
            decoded.extend(decoder.decode(packet))
    for packet in encoder.encode(None):
        decoded.extend(decoder.decode(packet))
    assert len(decoded) == 20
    assert [identify(f).counter for f in decoded] == list(range(20))
    assert {identify(f).index for f in decoded} == {200}


def test_colours_are_told_apart() -> None:
    assert [nearest_colour(tuple(float(c) for c in rgb)) for rgb in PALETTE] == list(  # type: ignore[arg-type]
        range(len(PALETTE))
    )
