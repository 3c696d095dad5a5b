"""A still picture of one participant's video, taken through the media plane.

An aiortc subscriber joins the room for that one feed, decodes the first frame that comes and
encodes it as JPEG. The SFU asks the sender for a key frame when a subscriber joins, so the
first frame comes within a second or so of the link being up.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from fractions import Fraction

import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp
from av import VideoFrame

from video.errors import MediaPlaneError
from video.media_plane import LocalCandidate, MediaPlane, Room, SubscriberLeg

DEFAULT_WITHIN_S = 10.0


@dataclass(frozen=True)
class Still:
    jpeg: bytes
    width: int
    height: int


def jpeg_of(frame: VideoFrame) -> bytes:
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height = frame.width, frame.height
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 25)
    packets = codec.encode(frame.reformat(format="yuvj420p")) + codec.encode(None)
    return b"".join(bytes(p) for p in packets)


async def still_of(
    plane: MediaPlane, room: Room, feed_id: int, *, within_s: float = DEFAULT_WITHIN_S
) -> Still:
    """A still of feed ``feed_id``: ``video.still_timeout`` when no frame comes in time."""
    leg = await plane.subscriber(room, [feed_id])
    pc = RTCPeerConnection()
    video: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def _track(track: MediaStreamTrack) -> None:
        if track.kind == "video" and not video.done():
            video.set_result(track)

    trickled = asyncio.create_task(_add_candidates(pc, leg))
    try:
        async with asyncio.timeout(within_s):
            await pc.setRemoteDescription(RTCSessionDescription(leg.offer, "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            await leg.start(pc.localDescription.sdp)
            frame = await (await video).recv()
    except TimeoutError:
        raise MediaPlaneError(
            f"no picture came from feed {feed_id} within {within_s:g} s",
            code="video.still_timeout", feed_id=feed_id, within_s=within_s,
        ) from None
    finally:
        trickled.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await trickled
        await pc.close()
        await leg.close()
    if not isinstance(frame, VideoFrame):
        raise MediaPlaneError(f"the video of feed {feed_id} gave no picture",
                              code="video.still_timeout", feed_id=feed_id, within_s=within_s)
    return Still(await asyncio.to_thread(jpeg_of, frame), frame.width, frame.height)


async def _add_candidates(pc: RTCPeerConnection, leg: SubscriberLeg) -> None:
    """The SFU's trickled candidates for the subscription."""
    async for event in leg.events():
        if isinstance(event, LocalCandidate) and event.candidate is not None:
            found = candidate_from_sdp(event.candidate.candidate.removeprefix("candidate:"))
            found.sdpMid = event.candidate.sdp_mid
            found.sdpMLineIndex = event.candidate.sdp_mline_index
            await pc.addIceCandidate(found)
