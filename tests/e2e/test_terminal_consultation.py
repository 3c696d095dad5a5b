"""A unit's field terminal joins a video consultation, in a real headless Chromium (Debian's,
with its fake camera) through a real Janus: signed in with the unit's device token, it lists the
consultation the unit is invited to, joins with one button, shows another vehicle's video
(``video.agent``), is in as far as the server knows, and leaves."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.browser import SHOTS, chromium, watch
from tests.support.consultations import Seat, consultation
from tests.support.janus import app, janus
from tests.support.live import LiveApp
from video import agent
from video.media.pattern import PatternTrack
from video.media.tone import ToneTrack

pytestmark = pytest.mark.timeout(180)
__all__ = ["app", "janus"]  # the fixtures of a real Janus and the app on it


async def _state_of(app: LiveApp, host: Seat, cid: int, member: str) -> str:
    r = await app.http.get(f"/api/v1/consultations/{cid}", headers=host.headers)
    assert r.status_code == 200, r.text
    [found] = [p for p in r.json()["participants"] if p["member"] == member]
    return str(found["state"])


async def _becomes(app: LiveApp, host: Seat, cid: int, member: str, state: str) -> None:
    async with asyncio.timeout(15):
        while await _state_of(app, host, cid, member) != state:
            await asyncio.sleep(0.1)  # the server's record, polled until it says so


async def test_a_field_terminal_joins_a_consultation_sees_the_others_and_leaves(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    host = Seat("disp1", await builders.signed_in(app.http, map_engine, "disp1", "dispatcher"))
    await b.add_unit(map_engine, "CMD1", "command_vehicle")
    await b.add_unit(map_engine, "CMD2", "command_vehicle")
    token = await builders.device(map_engine, "CMD1")
    other = (await b.terminal(map_engine, "CMD2"))["Authorization"].removeprefix("Bearer ")
    r = await app.http.post("/api/v1/incidents", headers=host.headers, json={
        "type": "fire", "lon": 9.52, "lat": 47.14, "summary": "warehouse fire"})
    assert r.status_code == 201, r.text
    cid = await consultation(app, host, [], units=["CMD1", "CMD2"],
                             incident_id=r.json()["incident"]["id"])
    stop = asyncio.Event()
    vehicle = asyncio.create_task(agent.run(
        app.ws_url, other, cid, lambda: [PatternTrack(3), ToneTrack(3)], stop=stop,
    ))
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        async with chromium(media=True) as browser:
            page = await browser.new_page(viewport={"width": 800, "height": 1200})
            problems = watch(page)
            await page.goto(f"{app.base_url}/app/")
            await page.click("#lang")  # English
            await page.fill("input[name=device_token]", token)
            await page.click("#device-sign-in button[type=submit]")
            await expect(page.locator("#unit-link")).to_have_attribute("data-state", "live")

            # The consultation the unit is invited to, and one big button to join it.
            listed = page.locator(f"#terminal-consultations li[data-consultation='{cid}']")
            await expect(listed).to_contain_text("Dam overflow")
            join = listed.locator("button.join")
            await expect(join).to_have_accessible_name("Join Dam overflow")
            await join.click()
            call = page.locator("#terminal-consultations #call")
            await expect(call).to_have_attribute("data-state", "joined")

            # The other vehicle's video plays on the terminal.
            video = page.locator("#terminal-consultations video[data-member='unit:CMD2']")
            await expect(video).to_have_count(1, timeout=30_000)
            await page.wait_for_function(
                "(v) => v.videoWidth > 0 && v.currentTime > 0", arg=await video.element_handle(),
                timeout=30_000,
            )
            await expect(page.locator("#call-people")).to_contain_text("unit:CMD2")
            # The server counts the terminal in, and its camera and microphone sending.
            await _becomes(app, host, cid, "unit:CMD1", "joined")
            r = await app.http.get(f"/api/v1/consultations/{cid}", headers=host.headers)
            [me] = [p for p in r.json()["participants"] if p["member"] == "unit:CMD1"]
            assert me["kind"] == "unit"
            await page.locator("#terminal").screenshot(
                path=str(SHOTS / "field-terminal-consultation.en.png"))

            await page.click("#terminal-consultations #leave")
            await expect(join).to_be_visible()
            await _becomes(app, host, cid, "unit:CMD1", "left")
            assert problems == []
    finally:
        stop.set()
        await asyncio.wait_for(vehicle, 30)
