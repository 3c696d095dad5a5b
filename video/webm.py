"""A participant's recorded tracks made into one playable WebM.

Janus records RTP into its own ``.mjr`` files; ``janus-pp-rec`` (Debian's ``janus-tools``)
turns the VP8 one into WebM and the Opus one into Ogg, and PyAV puts both into one WebM
without encoding again. Blocking (a child process and file work): call it off the event loop.
"""

from __future__ import annotations

import heapq
import logging
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from video.errors import MediaPlaneError
from video.recording_names import Track

log = logging.getLogger(__name__)
TOOL = "janus-pp-rec"
TOOL_TIMEOUT_S = 600


@dataclass(frozen=True)
class Recorded:
    path: Path
    media_type: str  # video/webm, or audio/webm when only sound was sent
    duration_s: float
    width: int | None
    height: int | None


def tool() -> str:
    found = shutil.which(TOOL)
    if found is None:
        raise MediaPlaneError(
            f"{TOOL} is not installed (Debian's janus-tools): recordings cannot be converted",
            code="video.recording_tool_missing", tool=TOOL,
        )
    return found


def recording_of(tracks: Sequence[Track], out: Path, work: Path) -> Recorded | None:
    """One WebM at ``out`` from one publishing's tracks; None: no track held any media."""
    converted: list[Path] = []
    for track in tracks:
        target = work / (track.path.stem + (".webm" if track.kind == "video" else ".opus"))
        run = subprocess.run(
            [tool(), str(track.path), str(target)], capture_output=True, text=True,
            timeout=TOOL_TIMEOUT_S, check=False,
        )
        if run.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
            # A stream that carried nothing while recorded (held video, say) has no file.
            log.info("%s gave no %s from %s: %s", TOOL, track.kind, track.path.name,
                     run.stdout.strip().splitlines()[-1:] or run.stderr.strip()[-200:])
            continue
        converted.append(target)
    if not converted:
        return None
    _mux(converted, out)
    with av.open(str(out)) as played:
        video = next(iter(played.streams.video), None)
        duration = (played.duration or 0) / av.time_base
        return Recorded(
            out,
            "video/webm" if video is not None else "audio/webm",
            round(float(duration), 3),
            video.codec_context.width if video is not None else None,
            video.codec_context.height if video is not None else None,
        )


def _mux(sources: Sequence[Path], out: Path) -> None:
    """Every stream of ``sources`` into one WebM, packets interleaved by time, not encoded."""
    inputs = [av.open(str(p)) for p in sources]
    try:
        with av.open(str(out), "w", format="webm") as muxed:
            lanes = []
            for source in inputs:
                stream = source.streams[0]
                lanes.append(_timed(source, stream, muxed.add_stream_from_template(stream)))
            for _, _, packet in heapq.merge(*lanes, key=lambda item: (item[0], item[1])):
                muxed.mux(packet)
    finally:
        for source in inputs:
            source.close()


def _timed(source: av.container.InputContainer, stream: av.stream.Stream,
           target: av.stream.Stream) -> Iterator[tuple[Fraction, int, av.Packet[av.stream.Stream]]]:
    for n, packet in enumerate(source.demux(stream)):
        if packet.dts is None or packet.time_base is None:
            continue  # the demuxer's flush packet
        at = packet.dts * packet.time_base
        packet.stream = target
        yield at, n, packet
