"""What the host does to a participant's media, with real peers through a real Janus: muted
video stops reaching the others while the sound goes on, and comes back when unmuted; the
participant is told."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiortc import MediaStreamTrack
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.consultations import consultation, seats, sees
from tests.support.live import LiveApp
from video.media.pattern import PatternTrack
from video.media.tone import ToneTrack
from video.peer import Frame, Peer

pytestmark = pytest.mark.timeout(180)


async def _quiet(track: MediaStreamTrack, *, gap: float, within: float) -> float:
    """Frames drained until none comes for ``gap`` s; the seconds that took."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            await asyncio.wait_for(track.recv(), gap)
        except TimeoutError:
            return time.monotonic() - started
    raise AssertionError(f"frames still came {within} s after the mute")


async def _frames(track: MediaStreamTrack, count: int, within: float) -> None:
    async with asyncio.timeout(within):
        for _ in range(count):
            await track.recv()


async def _told(peer: Peer, kind: str, within: float = 10.0) -> Frame:
    async with asyncio.timeout(within):
        while (frame := await peer.events.get()).get("type") != kind:
            pass
    return frame


async def test_muted_video_stops_while_the_sound_goes_on_and_comes_back(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    lead, disp = await seats(app, map_engine, 2)
    cid = await consultation(app, lead, [disp.name])
    sender = await Peer.join(app.ws_url, disp.token, cid)
    watcher = await Peer.join(app.ws_url, lead.token, cid)
    url = f"/api/v1/consultations/{cid}/participants/user/disp1/mute"
    try:
        await sender.publish([PatternTrack(3, fps=10), ToneTrack(3)])
        await watcher.subscribe("all")
        await sees(watcher, {"user:disp1": 3})
        video = watcher.latest[("user:disp1", "video")].track
        sound = watcher.latest[("user:disp1", "audio")].track

        r = await app.http.post(url, headers=lead.headers, json={"media": "video", "muted": True})
        assert r.status_code == 200, r.text
        told = await _told(sender, "muted")
        assert (told["media"], told["muted"]) == ("video", True)
        took = await _quiet(video, gap=2.0, within=10.0)
        print(f"\nno video of disp1 {took:.2f} s after the mute")
        await _frames(sound, 25, within=5.0)  # half a second of Opus goes on arriving

        r = await app.http.post(url, headers=lead.headers, json={"media": "video", "muted": False})
        assert r.status_code == 200, r.text
        await sees(watcher, {"user:disp1": 3}, within=15.0)
    finally:
        await watcher.leave()
        await sender.leave()
