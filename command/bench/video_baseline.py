"""The baseline of ``cad bench video``: a relay built on aiortc alone, as a team without an SFU
would build it (``python -m command.bench.video_baseline --port N``).

Each participant opens one websocket and sends ``publish`` (its offer: what it sends) and
``view`` (the server offers it every other participant's video). The relay receives each
published track (aiortc decodes what it receives) and hands it to every viewer through
``aiortc.contrib.media.MediaRelay`` (aiortc encodes again for each viewer). No authority, no
rooms, no renegotiation: the benchmark has everyone publish before anyone views.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from dataclasses import dataclass, field

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


@dataclass
class _Relay:
    relay: MediaRelay = field(default_factory=MediaRelay)
    #: the video each participant publishes, by name
    tracks: dict[str, MediaStreamTrack] = field(default_factory=dict)
    published: asyncio.Condition = field(default_factory=asyncio.Condition)


async def _publish(state: _Relay, name: str, sdp: str, pcs: list[RTCPeerConnection],
                   published: list[MediaStreamTrack]) -> str:
    pc = RTCPeerConnection()
    pcs.append(pc)

    @pc.on("track")
    async def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "video":
            state.tracks[name] = track
            published.append(track)
            async with state.published:
                state.published.notify_all()

    await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    return str(pc.localDescription.sdp)


async def _view(
    state: _Relay, name: str, pcs: list[RTCPeerConnection]
) -> tuple[RTCPeerConnection, dict[str, object]]:
    """A connection sending ``name`` every other participant's video, and its offer frame."""
    pc = RTCPeerConnection()
    pcs.append(pc)
    members = []
    for other, track in sorted(state.tracks.items()):
        if other != name:
            members.append(
                (pc.addTransceiver(state.relay.subscribe(track, buffered=False),
                                   direction="sendonly"), other)
            )
    await pc.setLocalDescription(await pc.createOffer())
    streams = [{"mid": t.mid, "member": other, "kind": "video"} for t, other in members]
    return pc, {"type": "offer", "sdp": pc.localDescription.sdp, "streams": streams}


async def _published(state: _Relay, count: int) -> None:
    async with state.published:
        await state.published.wait_for(lambda: len(state.tracks) >= count)


async def _client(state: _Relay, ws: ServerConnection) -> None:
    pcs: list[RTCPeerConnection] = []
    published: list[MediaStreamTrack] = []
    viewer: RTCPeerConnection | None = None
    try:
        async for raw in ws:
            frame = json.loads(raw)
            kind, name = frame.get("type"), str(frame.get("name"))
            if kind == "publish":
                answer = await _publish(state, name, str(frame["sdp"]), pcs, published)
                await ws.send(json.dumps({"type": "answer", "sdp": answer}))
            elif kind == "wait":
                # until ``count`` participants have published their video
                await _published(state, int(frame["count"]))
                await ws.send(json.dumps({"type": "ready"}))
            elif kind == "view":
                viewer, offer = await _view(state, name, pcs)
                await ws.send(json.dumps(offer))
            elif kind == "answer" and viewer is not None:
                await viewer.setRemoteDescription(RTCSessionDescription(frame["sdp"], "answer"))
    except ConnectionClosed:
        pass
    finally:
        # A later participant of the same name (the next phase) must not be offered this
        # one's ended track while its own is on the way.
        for name in [n for n, t in state.tracks.items() if t in published]:
            del state.tracks[name]
        for pc in pcs:
            await pc.close()


async def main(port: int) -> None:
    state = _Relay()
    async with serve(lambda ws: _client(state, ws), "127.0.0.1", port, max_size=2**22):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args().port))
