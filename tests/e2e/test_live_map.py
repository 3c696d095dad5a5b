"""The dispatcher's map in a real Chromium, live: a unit's marker moves and turns as its terminal
reports (over the tracking socket, with no change in the event log), and a centre whose region
has no imported map opens on every region there is instead of failing; the jurisdictions
are a layer shown or hidden."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.browser import SHOTS, sign_in, watch
from tests.support.live import serve
from tests.support.terminal import connected, frame, position


async def _marker_x(page: Page, unit: str) -> float:
    box = await page.locator(f"#map .marker.unit[data-key='unit:{unit}']").bounding_box()
    assert box is not None
    return box["x"]


async def test_a_unit_moves_and_turns_on_the_map_as_it_reports(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    async with serve(map_url) as app:
        crew = await b.crew(app.http, map_engine)
        board = (await app.http.get("/api/v1/units/board", headers=crew.dispatcher)).json()
        unit = sorted(u["id"] for u in board["units"] if u["status"] == "available")[0]
        token = await builders.device(map_engine, unit)
        lon, lat = b.VADUZ_CENTRE

        page = await browser.new_page()
        problems = watch(page)
        await sign_in(page, app.base_url, "disp1")
        await expect(page.locator("#map[data-ready]")).to_be_attached(timeout=30_000)
        await expect(page.locator("#tracking-state")).to_have_attribute("data-state", "live")
        marker = page.locator(f"#map .marker.unit[data-key='unit:{unit}']")

        t0 = datetime.now(UTC) - timedelta(seconds=90)
        async with connected(app.ws_url, token) as terminal:
            sent = await terminal.send(frame("position", position=position(
                lon, lat, t0, heading=90, speed=12)))
            assert sent["type"] == "ack", sent
            # heading east: the arrow before its name turned a quarter to the right
            await expect(marker).to_have_attribute("data-heading", "90")
            await expect(marker.locator(".heading")).to_have_count(1)
            before = await _marker_x(page, unit)
            feed_before = await page.locator("#feed-state").text_content()

            # 750 m further east a minute later, turning south-east: the marker follows without
            # any reload (a few pixels on the whole region's map)
            sent = await terminal.send(frame("position", position=position(
                lon + 0.01, lat - 0.001, t0 + timedelta(seconds=60), heading=135, speed=12)))
            assert sent["type"] == "ack", sent
            await expect(marker).to_have_attribute("data-heading", "135")

            await page.wait_for_function(
                "([key, x]) => document.querySelector(`#map .marker[data-key='${key}']`)"
                ".getBoundingClientRect().x > x + 2",
                arg=[f"unit:{unit}", before],
            )
            assert await page.locator("#feed-state").text_content() == feed_before

            # parked: a standing vehicle's compass says nothing, so no arrow
            sent = await terminal.send(frame("position", position=position(
                lon + 0.01, lat - 0.001, t0 + timedelta(seconds=65), heading=135, speed=0)))
            assert sent["type"] == "ack", sent
            await expect(marker).not_to_have_attribute("data-heading", "135")
            await expect(marker.locator(".heading")).to_have_count(0)
        await page.locator("#map").screenshot(path=str(SHOTS / "dispatcher-map-live.zh-CN.png"))
        await page.close()
        assert problems == []


async def test_a_centre_without_its_region_s_map_opens_on_every_region(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    async with serve(map_url, region="atlantis") as app:
        await b.crew(app.http, map_engine)
        page = await browser.new_page()
        problems = watch(page)
        await sign_in(page, app.base_url, "disp1")
        await expect(page.locator("#map[data-ready]")).to_be_attached(timeout=30_000)
        await expect(page.locator("#map-region-missing")).to_contain_text("atlantis")
        await expect(page.locator("#dispatch .problem[role=alert]")).to_have_count(0)
        # the imported region's streets are there: Vaduz's names are drawn
        await expect(page.locator("#map[data-names='zh']")).to_be_attached()
        await page.close()
        assert problems == []


async def test_the_jurisdictions_are_a_layer_the_dispatcher_shows_or_hides(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    async with serve(map_url) as app:
        await b.crew(app.http, map_engine)
        page = await browser.new_page()
        problems = watch(page)
        await sign_in(page, app.base_url, "disp1")
        the_map = page.locator("#map")
        await expect(page.locator("#map[data-ready]")).to_be_attached(timeout=30_000)
        # the municipalities' boundary lines, drawn over the region
        await expect(the_map).to_have_attribute("data-jurisdictions", re.compile(r"^[1-9]\d*$"))
        jurisdictions = page.get_by_role("checkbox", name="辖区")
        await jurisdictions.uncheck()
        await expect(the_map).to_have_attribute("data-jurisdictions", "0")
        await jurisdictions.check()
        await expect(the_map).to_have_attribute("data-jurisdictions", re.compile(r"^[1-9]\d*$"))
        await page.close()
        assert problems == []
