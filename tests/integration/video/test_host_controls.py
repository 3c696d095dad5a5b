"""What the host does to a participant's media, with real peers through a real Janus: muted
video stops reaching the others while the sound goes on, and comes back when unmuted; a
vehicle capped below the room's bitrate sends less at once, and is told. Each participant is
told what the host did."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from aiortc import MediaStreamTrack, VideoStreamTrack
from av import VideoFrame
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import dispatch_builders as b
from tests.support.consultations import Seat, consultation, seats, sees, told
from tests.support.live import LiveApp
from video.media.pattern import PatternTrack
from video.media.tone import ToneTrack
from video.peer import Peer

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
        frame = await told(sender, "muted")
        assert (frame["media"], frame["muted"]) == ("video", True)
        took = await _quiet(video, gap=2.0, within=10.0)
        print(f"\nno video of disp1 {took:.2f} s after the mute")
        await _frames(sound, 25, within=5.0)  # half a second of Opus goes on arriving

        r = await app.http.post(url, headers=lead.headers, json={"media": "video", "muted": False})
        assert r.status_code == 200, r.text
        await sees(watcher, {"user:disp1": 3}, within=15.0)
    finally:
        await watcher.leave()
        await sender.leave()


class _Noise(VideoStreamTrack):
    """320x240 of fine noise at 15 fps: the more bits the encoder may spend, the more it
    sends, and at its coarsest it needs little (blocky noise would need ~500 kbit/s even
    then: one changed macroblock costs bits at any quality)."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._random = np.random.default_rng(7)

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        await asyncio.sleep(1 / 15 - 1 / 30)  # next_timestamp paces at 30 fps
        # Grey with noise in every pixel, new every frame: detail only a finer quality keeps.
        noise = self._random.integers(96, 160, (240, 320, 3), dtype=np.uint8)
        pixels = np.ascontiguousarray(noise)
        frame = VideoFrame.from_ndarray(pixels, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


async def _reported_kbps(app: LiveApp, seat: Seat, cid: int, sender: Peer, member: str) -> float:
    """The sender's bitrate over its last second, as the host's console reads it."""
    while not await sender.report_link():
        await asyncio.sleep(0.5)  # two readings of its statistics, half a second apart
    r = await app.http.get(f"/api/v1/consultations/{cid}", headers=seat.headers)
    [me] = [p for p in r.json()["participants"] if p["member"] == member]
    quality = (me.get("live") or {}).get("quality") or {}
    if quality.get("bitrate_kbps") is None:  # the report not yet on the board
        return await _reported_kbps(app, seat, cid, sender, member)
    return float(quality["bitrate_kbps"])


async def _settled_kbps(app: LiveApp, seat: Seat, cid: int, sender: Peer, member: str,
                        below: float, within: float) -> list[float]:
    """The sender's reported bitrate, second by second, until it is below ``below``."""
    seen: list[float] = []
    deadline = time.monotonic() + within
    while not seen or seen[-1] >= below:
        assert time.monotonic() < deadline, f"{member} still sends {seen} kbit/s"
        await asyncio.sleep(1.0)  # a second of sending between readings
        seen.append(await _reported_kbps(app, seat, cid, sender, member))
    return seen


async def test_the_host_caps_one_vehicle_below_the_room_and_lifts_it(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    [lead, disp] = await seats(app, map_engine, 2)
    await b.add_unit(map_engine, "CMD1", "command_vehicle")
    unit = (await b.terminal(map_engine, "CMD1"))["Authorization"].removeprefix("Bearer ")
    cid = await consultation(app, lead, [disp.name], units=["CMD1"])
    vehicle = await Peer.join(app.ws_url, unit, cid)
    watcher = await Peer.join(app.ws_url, lead.token, cid)
    url = f"/api/v1/consultations/{cid}/participants/unit/CMD1/bitrate"
    try:
        # Fine noise: the encoder spends much of what the room allows (aiortc's VP8 encoder
        # never goes below 250 kbit/s, so the cap tried is above that).
        await vehicle.publish([_Noise()])
        await watcher.subscribe("all")
        free = await _settled_kbps(app, lead, cid, vehicle, "unit:CMD1", 1e9, 20)
        while free[-1] < 600 and len(free) < 20:
            free += await _settled_kbps(app, lead, cid, vehicle, "unit:CMD1", 1e9, 20)
        r = await app.http.post(url, headers=disp.headers, json={"kbps": 64})
        assert (r.status_code, r.json()["code"]) == (403, "consultation.host_only")
        r = await app.http.post(url, headers=lead.headers, json={"kbps": 10})
        assert r.status_code == 422

        r = await app.http.post(url, headers=lead.headers, json={"kbps": 300})
        assert r.status_code == 200, r.text
        [capped] = [p for p in r.json()["participants"] if p["member"] == "unit:CMD1"]
        assert capped["bitrate_kbps"] == 300
        frame = await told(vehicle, "capped")
        assert frame["bitrate_kbps"] == 300
        # Janus's next REMB says so within seconds; the encoder lands near it (VP8 overshoots).
        under = await _settled_kbps(app, lead, cid, vehicle, "unit:CMD1", 300 * 1.5, 20)
        print(f"\nCMD1 sent {[round(k) for k in free]} kbit/s; capped to 300: "
              f"{[round(k) for k in under]}")
        assert free[-1] >= 600
        # The picture goes on reaching the others, at the lower rate.
        await _frames(watcher.latest[("unit:CMD1", "video")].track, 10, within=10.0)

        r = await app.http.post(url, headers=lead.headers, json={"kbps": None})
        [lifted] = [p for p in r.json()["participants"] if p["member"] == "unit:CMD1"]
        assert lifted["bitrate_kbps"] is None
        assert (await told(vehicle, "capped"))["bitrate_kbps"] == 1500  # the room's
    finally:
        await watcher.leave()
        await vehicle.leave()
