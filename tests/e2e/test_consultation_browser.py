"""A video consultation in a real headless Chromium (Debian's, with its fake camera): a leader
signs in to the consoles, joins from the page, and receives a command vehicle's video from
``video.agent`` through a real Janus; the page's own camera reaches another participant. The
host, from the page, records, caps the vehicle's bitrate, stops its video, removes it and ends
the consultation, in English and in Chinese (screenshots under build/screenshots/). A viewer
gets the simulcast layer of the page's camera that it asks for, and a lower one when the media
server finds its link slow."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest
from av import VideoFrame
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.browser import SHOTS, chromium, watch
from tests.support.consultations import Seat, consultation, told
from tests.support.janus import app, janus
from tests.support.live import LiveApp
from video import agent
from video.media.pattern import PALETTE, PatternTrack, nearest_colour
from video.media.tone import ToneTrack
from video.media_plane import SlowLink
from video.peer import Peer

pytestmark = pytest.mark.timeout(180)
__all__ = ["app", "janus"]  # the fixtures of a real Janus and the app on it
INDEX = 5  # the vehicle's test pattern: its colour is PALETTE[5]

# The colour of a pixel of the background of the video the page shows.
PIXEL = """(video) => {
  if (video.videoWidth === 0) return null;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext("2d");
  context.drawImage(video, 0, 0);
  const [r, g, b] = context.getImageData(8, Math.floor(video.videoHeight / 2), 1, 1).data;
  return [r, g, b, video.videoWidth, video.videoHeight];
}"""


async def _joined_from_the_page(page: Page, app: LiveApp, engine: AsyncEngine, username: str,
                                cid: int) -> None:
    """``username`` signs in to the consoles (in English) and joins consultation ``cid``."""
    await page.goto(f"{app.base_url}/app/")
    await page.click("#lang")  # English
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", builders.PASSWORD)
    await page.fill("input[name=totp]", await builders.totp_code(engine, username))
    await page.click("#sign-in button[type=submit]")
    await page.click(f"#consultations [data-consultation='{cid}'] .join")
    await expect(page.locator("#call")).to_have_attribute("data-state", "joined")


async def test_a_leader_joins_from_the_page_and_sees_the_vehicle(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    # The dispatcher opens the consultation; the leader joins it from the browser.
    host = Seat("disp1", await builders.signed_in(app.http, map_engine, "disp1", "dispatcher"))
    await builders.user(map_engine, "lead1", "leader")
    await b.add_unit(map_engine, "CMD1", "command_vehicle")
    unit_token = (await b.terminal(map_engine, "CMD1"))["Authorization"].removeprefix("Bearer ")
    r = await app.http.post("/api/v1/incidents", headers=host.headers, json={
        "type": "fire", "lon": 9.52, "lat": 47.14, "summary": "warehouse fire"})
    assert r.status_code == 201, r.text
    incident_id = r.json()["incident"]["id"]
    cid = await consultation(app, host, ["lead1"], units=["CMD1"], incident_id=incident_id)
    stop = asyncio.Event()
    vehicle = asyncio.create_task(agent.run(
        app.ws_url, unit_token, cid, lambda: [PatternTrack(INDEX), ToneTrack(INDEX)],
        stop=stop, stats_every_s=1.0,
    ))
    try:
        async with chromium(media=True) as browser:
            page = await browser.new_page()
            problems = watch(page)
            await _joined_from_the_page(page, app, map_engine, "lead1", cid)

            # The vehicle's video plays on the page, in the vehicle's colour.
            video = page.locator("video[data-member='unit:CMD1']")
            await expect(video).to_have_count(1, timeout=30_000)
            handle = await video.element_handle()
            seen = await page.wait_for_function(
                # A frame painted: the element knows its size a moment before (black then).
                f"(v) => {{ const p = ({PIXEL})(v); "
                "return p && p[3] > 0 && p[0] + p[1] + p[2] > 0 ? p : null; }",
                arg=handle, timeout=30_000,
            )
            r, g, bl, width, height = await seen.json_value()
            print(f"\nthe page shows the vehicle's video {width}x{height}, pixel {(r, g, bl)}")
            assert nearest_colour((float(r), float(g), float(bl))) == INDEX, PALETTE[INDEX]

            # Who is in, and what they send, from the server's participant frames.
            row = page.locator("#people tr[data-member='unit:CMD1']")
            await expect(row).to_have_attribute("data-state", "joined")
            await expect(row.locator("td").nth(2)).to_have_text("sound + video")
            # ... and how its link does, from the agent's WebRTC statistics.
            await expect(row.locator("td").nth(3)).to_have_attribute(
                "data-grade", re.compile("^(good|fair|poor)$"), timeout=15_000
            )

            # A still of the vehicle, from its row: attached to the incident. Recording is
            # the host's, and the leader is not it.
            await row.locator("button.still").click()
            await expect(page.locator("#notice")).to_contain_text("unit:CMD1")
            await expect(page.locator("#record")).to_have_count(0)
            r = await app.http.get(f"/api/v1/incidents/{incident_id}/attachments",
                                   headers=host.headers)
            assert [(a["kind"], a["member"]) for a in r.json()["attachments"]] == [
                ("still", "unit:CMD1")
            ]

            # The page's own camera reaches another participant through the media server.
            peer = await Peer.join(app.ws_url, host.token, cid)
            try:
                await peer.subscribe("all")
                frame = await asyncio.wait_for(_video_of(peer, "user:lead1"), 30)
                assert frame.width > 0
                assert frame.height > 0
            finally:
                await peer.leave()

            await page.click("#leave")
            await expect(page.locator("#consultations .join")).to_have_count(1)
            assert problems == []
    finally:
        stop.set()
        outcome = await asyncio.wait_for(vehicle, 30)
        assert outcome.joins == 1


async def _video_of(peer: Peer, member: str) -> VideoFrame:
    while True:
        got = await peer.received.get()
        if got.member == member and got.kind == "video":
            frame = await got.track.recv()
            assert isinstance(frame, VideoFrame)
            return frame


async def _participant(app: LiveApp, host: Seat, cid: int, member: str) -> dict[str, object]:
    r = await app.http.get(f"/api/v1/consultations/{cid}", headers=host.headers)
    [found] = [p for p in r.json()["participants"] if p["member"] == member]
    return dict(found)


async def test_the_host_records_caps_stops_the_video_of_and_removes_a_vehicle_from_the_page(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    host = Seat("disp1", await builders.signed_in(app.http, map_engine, "disp1", "dispatcher"))
    await b.add_unit(map_engine, "CMD1", "command_vehicle")
    unit_token = (await b.terminal(map_engine, "CMD1"))["Authorization"].removeprefix("Bearer ")
    r = await app.http.post("/api/v1/incidents", headers=host.headers, json={
        "type": "fire", "lon": 9.52, "lat": 47.14, "summary": "warehouse fire"})
    assert r.status_code == 201, r.text
    cid = await consultation(app, host, [], units=["CMD1"], incident_id=r.json()["incident"]["id"])
    stop = asyncio.Event()
    vehicle = asyncio.create_task(agent.run(
        app.ws_url, unit_token, cid, lambda: [PatternTrack(INDEX), ToneTrack(INDEX)],
        stop=stop, stats_every_s=1.0,
    ))
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        async with chromium(media=True) as browser:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            problems = watch(page)
            await _joined_from_the_page(page, app, map_engine, "disp1", cid)
            row = page.locator("#people tr[data-member='unit:CMD1']")
            await expect(row.locator("td").nth(2)).to_have_text("sound + video", timeout=30_000)
            await expect(page.locator("video[data-member='unit:CMD1']")).to_have_count(1)

            await page.click("#record")
            await expect(page.locator("#recording")).to_be_visible()
            async with page.expect_response(lambda r: r.url.endswith("/bitrate")) as capped:
                await row.locator("select.cap").select_option("300")
            assert (await capped.value).status == 200
            await expect(row.locator("select.cap")).to_have_value("300")
            assert (await _participant(app, host, cid, "unit:CMD1"))["bitrate_kbps"] == 300
            await row.locator("button.mute-video").click()
            await expect(row.locator("button.mute-video")).to_have_attribute("aria-pressed", "true")
            assert (await _participant(app, host, cid, "unit:CMD1"))["video_muted"] is True
            panel = page.locator("#consultations")
            await panel.screenshot(path=str(SHOTS / "consultation-host.en.png"))
            await page.click("#lang")  # 中文
            await expect(row.locator("button.mute-video")).to_have_text("允许视频")
            await expect(page.locator("#stop-recording")).to_have_text("停止录制")
            await panel.screenshot(path=str(SHOTS / "consultation-host.zh-CN.png"))

            await page.click("#stop-recording")
            await expect(page.locator("#notice")).to_be_visible()
            await row.locator("button.remove").click()
            await expect(row).to_have_attribute("data-state", "removed", timeout=10_000)
            outcome = await asyncio.wait_for(vehicle, 30)
            assert outcome.reason == "consultation.removed"
            await page.click("#end")
            await expect(page.locator("#call")).to_have_attribute("data-state", "ended")
            assert problems == []
    finally:
        stop.set()
        await asyncio.wait_for(vehicle, 30)


async def _width_of(peer: Peer, member: str, wanted: Callable[[int], bool],
                    within: float = 20.0) -> int:
    """The width of ``member``'s video at ``peer`` once ``wanted`` holds for it."""
    got = None
    async with asyncio.timeout(within):
        while True:
            got = peer.latest.get((member, "video"))
            if got is not None:
                frame = await got.track.recv()
                assert isinstance(frame, VideoFrame)
                if wanted(frame.width):
                    return frame.width
            else:
                await asyncio.sleep(0.1)  # the condition above, polled


async def test_a_viewer_gets_the_simulcast_layer_it_asks_for_of_the_pages_camera(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    host = Seat("disp1", await builders.signed_in(app.http, map_engine, "disp1", "dispatcher"))
    await builders.user(map_engine, "lead1", "leader")
    cid = await consultation(app, host, ["lead1"])
    async with chromium(media=True) as browser:
        page = await browser.new_page()
        problems = watch(page)
        await _joined_from_the_page(page, app, map_engine, "lead1", cid)
        peer = await Peer.join(app.ws_url, host.token, cid)
        try:
            # The page's camera is 640 px wide; its lower layers are at most half that.
            await peer.subscribe("all", layer="low")
            low = await _width_of(peer, "user:lead1", lambda w: 0 < w <= 320)
            await peer.subscribe("all", layer="high")
            high = await _width_of(peer, "user:lead1", lambda w: w > low)
            print(f"\nthe page's camera: {low} px wide at the low layer, {high} at the high")
            assert high == 640
            # The media server reports the link to this viewer slow: one layer down, and it
            # is told. (The report is handed to its channel as Janus would send it.)
            channel = app.container.signaling_channels.of(cid, "user:disp1")
            assert channel is not None
            assert channel._legs.subscriber is not None
            await channel._leg_event(SlowLink(channel._legs.subscriber.id, True, "video", 40))
            layer = await told(peer, "layer", reason="slow_link")
            assert (layer["layer"], layer["reason"]) == ("medium", "slow_link")
            await _width_of(peer, "user:lead1", lambda w: 0 < w <= 320)
        finally:
            await peer.leave()
        assert problems == []
