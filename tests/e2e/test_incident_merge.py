"""Merging a duplicate and moving a unit from the dispatcher's incident view, in a real headless
Chromium: the merge said before it is confirmed (what the server will do), a refusal worded from
its code, the merged incident leaving the queue with its unit moved; a unit moved to another
incident shows on it."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.browser import SHOTS, sign_in, watch
from tests.support.live import serve


async def _available(http: httpx.AsyncClient, crew: b.Crew, count: int) -> list[str]:
    """The first ``count`` units available, by id."""
    board = (await http.get("/api/v1/units/board", headers=crew.dispatcher)).json()
    return sorted(u["id"] for u in board["units"] if u["status"] == "available")[:count]


async def test_a_dispatcher_merges_a_duplicate_into_the_incident_from_its_view(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    async with serve(map_url) as app:
        crew = await b.crew(app.http, map_engine)
        kept = await b.fire(app.http, crew)
        duplicate = await b.fire(app.http, crew, east=0.001)
        marked = await b.fire(app.http, crew, east=0.002)
        [unit] = await _available(app.http, crew, 1)
        r = await app.http.post(f"/api/v1/incidents/{duplicate['id']}/assignments",
                                json={"unit_ids": [unit]}, headers=crew.dispatcher)
        assert r.status_code == 201, r.text
        # One open to dispatchers only: it cannot merge with one open to everyone.
        r = await app.http.put(f"/api/v1/incidents/{marked['id']}/sensitivity",
                               json={"sensitive": True, "reason": "vip", "roles": ["dispatcher"]},
                               headers=crew.supervisor)
        assert r.status_code == 200, r.text

        page = await browser.new_page(viewport={"width": 1280, "height": 1000})
        problems = watch(page)
        await sign_in(page, app.base_url, "disp1")
        await page.click("#lang")  # English
        await page.locator(f"#queue li[data-number='{kept['number']}'] button").click()
        await expect(page.locator("#incident-view h3")).to_contain_text(kept["number"])
        merge = page.locator("#incident-merge")
        choice = merge.locator("select[name=merge-absorbed]")
        # the other open incidents, nearest first, with their number, type and address
        await expect(choice.locator("option[data-number]")).to_have_count(2)
        first = choice.locator("option[data-number]").first
        await expect(first).to_have_attribute("data-number", duplicate["number"])
        await expect(first).to_contain_text("Structure fire")

        # Refused: worded from the code, nothing merged.
        await choice.select_option(str(marked["id"]))
        await expect(page.locator("#merge-preview")).to_be_visible()
        await merge.locator("button[type=submit]").click()
        await page.click("#merge-confirm")
        refusal = merge.locator(".problem")
        await expect(refusal).to_have_attribute("data-code", "sensitivity.merge_differs")
        await expect(refusal).to_contain_text("same")
        problems.clear()  # the 409 is reported by the browser as a failed resource

        # The duplicate: what will happen said first, confirmed, done.
        await choice.select_option(str(duplicate["id"]))
        level = f"level {kept['response_level']}"
        await expect(page.locator("#merge-preview")).to_have_text(
            f"{duplicate['number']} will be cancelled as a duplicate of {kept['number']}: its"
            f" calls (0) and the units on it (1) move to {kept['number']}, which becomes"
            f" P{min(kept['priority'], duplicate['priority'])}, {level},"
            f" {kept['command_level']} command."
        )
        await expect(refusal).to_have_count(0)
        await merge.locator("button[type=submit]").click()
        confirm = page.locator("#merge-confirm")
        await expect(confirm).to_have_text(
            f"Confirm: merge {duplicate['number']} into {kept['number']}")
        await confirm.click()
        await expect(page.locator("#merge-done")).to_contain_text(
            f"Merged: {duplicate['number']} is cancelled as a duplicate")
        # The duplicate leaves the queue; its unit is on the incident kept.
        await expect(page.locator(f"#queue li[data-number='{duplicate['number']}']")) \
            .to_have_count(0)
        await expect(page.locator(f"#incident-units li[data-unit='{unit}']")).to_have_count(1)
        await expect(choice.locator("option[data-number]")).to_have_count(1)
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.locator("#incident-merge").screenshot(path=str(SHOTS / "incident-merge.en.png"))

        gone = (await app.http.get(f"/api/v1/incidents/{duplicate['id']}",
                                   headers=crew.dispatcher)).json()["incident"]
        assert (gone["status"], gone["merged_into"]) == ("cancelled", kept["id"])
        on = (await app.http.get(f"/api/v1/units/{unit}", headers=crew.dispatcher)).json()
        assert on["incident_id"] == kept["id"]
        await page.close()
        assert problems == []

        # A leader sees the incident view without merging or moving (each would answer 403).
        page = await browser.new_page()
        problems = watch(page)
        await sign_in(page, app.base_url, "lead1", await builders.totp_code(map_engine, "lead1"))
        await page.locator(f"#queue li[data-number='{kept['number']}'] button").click()
        await expect(page.locator("#incident-detail")).to_be_visible()
        await expect(page.locator("#timeline li").first).to_be_visible()
        await expect(page.locator("#incident-merge")).to_have_count(0)
        await expect(page.locator("#unit-reassign")).to_have_count(0)
        await page.close()
        assert problems == []


async def test_a_dispatcher_moves_a_unit_to_another_incident_from_the_incident_view(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    async with serve(map_url) as app:
        crew = await b.crew(app.http, map_engine)
        here = await b.fire(app.http, crew)
        there = await b.fire(app.http, crew, east=0.01)
        first, second = await _available(app.http, crew, 2)
        r = await app.http.post(f"/api/v1/incidents/{here['id']}/assignments",
                                json={"unit_ids": [first, second]}, headers=crew.dispatcher)
        assert r.status_code == 201, r.text

        page = await browser.new_page(viewport={"width": 1280, "height": 1000})
        problems = watch(page)
        await sign_in(page, app.base_url, "disp1")
        await page.locator(f"#queue li[data-number='{here['number']}'] button").click()
        await expect(page.locator("#incident-units li")).to_have_count(2)
        move = page.locator("#unit-reassign")
        await move.locator("select[name=reassign-unit]").select_option(first)
        await move.locator("select[name=reassign-to]").select_option(str(there["id"]))
        # in Chinese, the screen's first language
        await expect(page.locator("#reassign-preview")).to_have_text(
            f"{first} 离开 {here['number']}(在该警情记为改派),并被派往 {there['number']}。")
        await move.locator("button[type=submit]").click()
        await expect(page.locator("#reassign-done")).to_contain_text(there["number"])
        await expect(page.locator(f"#incident-units li[data-unit='{first}']")).to_have_count(0)
        await expect(page.locator("#incident-units li")).to_have_count(1)

        # The unit shows on the other incident.
        await page.locator(f"#queue li[data-number='{there['number']}'] button").click()
        await expect(page.locator("#incident-view h3")).to_contain_text(there["number"])
        await expect(page.locator(f"#incident-units li[data-unit='{first}']")).to_have_count(1)
        # ... and the server says so: the first assignment ended as diverted.
        unit = (await app.http.get(f"/api/v1/units/{first}", headers=crew.dispatcher)).json()
        assert unit["incident_id"] == there["id"]
        detail = (await app.http.get(f"/api/v1/incidents/{here['id']}",
                                     headers=crew.dispatcher)).json()
        ended = [a for a in detail["assignments"] if a["unit_id"] == first]
        assert [a["end_reason"] for a in ended] == ["diverted"]
        await page.close()
        assert problems == []


async def test_a_dispatcher_replaces_a_unit_by_another_from_the_incident_view(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    async with serve(map_url) as app:
        crew = await b.crew(app.http, map_engine)
        here = await b.fire(app.http, crew)
        broken, spare = await _available(app.http, crew, 2)
        r = await app.http.post(f"/api/v1/incidents/{here['id']}/assignments",
                                json={"unit_ids": [broken]}, headers=crew.dispatcher)
        assert r.status_code == 201, r.text
        board = (await app.http.get("/api/v1/units/board", headers=crew.dispatcher)).json()
        callsigns = {u["id"]: u["callsign"] for u in board["units"]}

        page = await browser.new_page(viewport={"width": 1280, "height": 1000})
        problems = watch(page)
        await sign_in(page, app.base_url, "disp1")
        await page.locator(f"#queue li[data-number='{here['number']}'] button").click()
        await expect(page.locator(f"#incident-units li[data-unit='{broken}']")).to_have_count(1)
        replace = page.locator("#unit-replace")
        await replace.locator("select[name=replace-unit]").select_option(broken)
        choice = replace.locator("select[name=replace-with]")
        # free units only (none is busy elsewhere here), the one replaced not among them
        await expect(choice.locator(f"option[data-unit='{spare}']")).to_have_count(1)
        await expect(choice.locator(f"option[data-unit='{broken}']")).to_have_count(0)
        await choice.select_option(spare)
        # in Chinese, the screen's first language
        await expect(page.locator("#replace-preview")).to_have_text(
            f"{callsigns[spare]} 将代替 {callsigns[broken]} 派往 {here['number']};"
            f"{callsigns[broken]} 解除任务,恢复空闲。")
        await replace.locator("button[type=submit]").click()
        await expect(page.locator("#replace-done")).to_have_text(
            f"{callsigns[spare]} 已替换 {callsigns[broken]}。")
        await expect(page.locator(f"#incident-units li[data-unit='{spare}']")).to_have_count(1)
        await expect(page.locator(f"#incident-units li[data-unit='{broken}']")).to_have_count(0)
        # the server's own entry on the timeline, worded from its code in the screen's language
        await expect(page.locator("#timeline")).to_contain_text(
            f"{callsigns[spare]} 替换 {broken}")
        await expect(page.locator("#timeline")).to_contain_text(f"已派出 {callsigns[broken]}")
        SHOTS.mkdir(parents=True, exist_ok=True)
        await replace.screenshot(path=str(SHOTS / "unit-replace.zh-CN.png"))

        # The server says so: the new unit assigned, the old one released (available).
        new = (await app.http.get(f"/api/v1/units/{spare}", headers=crew.dispatcher)).json()
        assert (new["incident_id"], new["status"]) == (here["id"], "dispatched")
        old = (await app.http.get(f"/api/v1/units/{broken}", headers=crew.dispatcher)).json()
        assert (old["incident_id"], old["status"]) == (None, "available")
        detail = (await app.http.get(f"/api/v1/incidents/{here['id']}",
                                     headers=crew.dispatcher)).json()
        ended = {a["unit_id"]: a["end_reason"] for a in detail["assignments"] if a["ended_at"]}
        assert ended == {broken: "reassigned"}
        assert [a["unit_id"] for a in detail["assignments"] if not a["ended_at"]] == [spare]
        await page.close()
        assert problems == []
