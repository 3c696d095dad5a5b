"""The fleet kept from the administration screen in a real Chromium: a supervisor adds a
station and a unit at it, takes the unit out of service, and changes a run card, and the API
then says so; a station outside the region is refused, worded in Chinese from its code; the
run card goes back to its default."""

from __future__ import annotations

from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.browser import SHOTS, sign_in, watch
from tests.support.live import serve


async def test_a_supervisor_keeps_the_fleet_from_the_screen(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    async with serve(map_url) as live:
        await builders.user(map_engine, "sup1", "supervisor")
        dispatcher = await builders.signed_in(live.http, map_engine, "disp1", "dispatcher")
        page = await browser.new_page()
        problems = watch(page)
        await sign_in(page, live.base_url, "sup1", await builders.totp_code(map_engine, "sup1"))

        # A station in Vaduz.
        stations = page.locator("#admin-stations")
        form = page.locator("#add-station")
        await form.locator("input[name=station-id]").fill("FS9")
        await form.locator("input[name=station-name]").fill("瓦杜兹消防站")
        await form.locator("input[name=station-name-en]").fill("Vaduz fire station")
        await form.locator("input[name=station-lon]").fill(str(b.VADUZ_CENTRE[0]))
        await form.locator("input[name=station-lat]").fill(str(b.VADUZ_CENTRE[1]))
        await expect(form.locator("input[name=station-region]")).to_have_value(b.REGION)
        await form.locator("button[type=submit]").click()
        await expect(page.locator("#stations-done")).to_have_text("已添加站点 FS9")
        await expect(page.locator("#stations tr[data-station='FS9']")).to_contain_text(
            "Vaduz fire station")

        # One in Zurich is refused, in the screen's language, and nothing is added.
        await form.locator("input[name=station-id]").fill("FS10")
        await form.locator("input[name=station-name]").fill("Zürich")
        await form.locator("input[name=station-lon]").fill(str(b.ZURICH[0]))
        await form.locator("input[name=station-lat]").fill(str(b.ZURICH[1]))
        await form.locator("button[type=submit]").click()
        refusal = stations.locator("[role=alert]")
        await expect(refusal).to_have_attribute("data-code", "station.outside_region")
        await expect(refusal).to_have_text(
            f"位置(经度 {b.ZURICH[0]},纬度 {b.ZURICH[1]})不在地区 {b.REGION} 范围内")
        await expect(page.locator("#stations tr[data-station='FS10']")).to_have_count(0)
        assert [p for p in problems if "422" not in p] == []
        problems.clear()  # the browser reports the refused request (422) as a console error

        # A quint at the new station, then out of service.
        add = page.locator("#add-unit")
        await add.locator("input[name=unit-id]").fill("Q9")
        await add.locator("input[name=unit-callsign]").fill("Vaduz Quint 9")
        await add.locator("select[name=unit-type]").select_option("quint")
        await add.locator("select[name=unit-station]").select_option("FS9")
        await add.locator("button[type=submit]").click()
        await expect(page.locator("#units-done")).to_have_text("已添加单位 Q9")
        row = page.locator("#fleet-units tr[data-unit='Q9']")
        await expect(row.locator(".status")).to_have_attribute("data-status", "available")
        await row.locator("button.out-of-service").click()
        await expect(page.locator("#units-done")).to_have_text("Q9 已停止执勤")
        await expect(row.locator(".status")).to_have_attribute("data-status", "out_of_service")

        # The structure fire's run card: three engines and no ladder.
        await page.locator("#run-cards tr[data-type='fire.structure'] button.edit-card").click()
        editor = page.locator("#edit-run-card")
        await expect(editor.locator("input[name=count-engine]")).to_have_value("2")
        await editor.locator("input[name=count-engine]").fill("3")
        await editor.locator("input[name=count-ladder]").fill("0")
        await editor.locator("button[type=submit]").click()
        await expect(page.locator("#run-cards-done")).to_have_text("已保存 建筑火灾 的出动方案")
        card_row = page.locator("#run-cards tr[data-type='fire.structure']")
        await expect(card_row.locator(".state")).to_have_text("已修改")
        shot = SHOTS / "admin-run-cards.zh-CN.png"
        await page.locator("#admin-run-cards").screenshot(path=str(shot))
        await page.locator("#admin-units").screenshot(path=str(SHOTS / "admin-units.zh-CN.png"))

        # What the screen did, as the API tells a dispatcher.
        listed = (await live.http.get("/api/v1/stations", headers=dispatcher)).json()
        assert [(s["id"], s["names"]) for s in listed["stations"]] == [
            ("FS9", {"en": "Vaduz fire station"})
        ]
        unit = (await live.http.get("/api/v1/units/Q9", headers=dispatcher)).json()
        assert (unit["callsign"], unit["unit_type"], unit["station_id"], unit["status"]) == (
            "Vaduz Quint 9", "quint", "FS9", "out_of_service")
        assert unit["capabilities"] == ["engine", "ladder"]
        cards = {c["type"]: c for c in
                 (await live.http.get("/api/v1/run-cards", headers=dispatcher)).json()["cards"]}
        assert cards["fire.structure"]["overridden"]
        assert cards["fire.structure"]["requirements"] == {
            "engine": 3, "ambulance_bls": 1, "command_vehicle": 1}

        # Back to the default, and the unit back in service.
        await editor.locator("button.reset-card").click()
        await expect(card_row.locator(".state")).to_have_text("默认")
        await row.locator("button.in-service").click()
        await expect(row.locator(".status")).to_have_attribute("data-status", "available")
        cards = {c["type"]: c for c in
                 (await live.http.get("/api/v1/run-cards", headers=dispatcher)).json()["cards"]}
        assert not cards["fire.structure"]["overridden"]
        await page.close()
        assert problems == []
