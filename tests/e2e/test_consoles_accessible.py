"""Every screen of the consoles, in both languages, checked by axe-core (the accessibility
engine browsers' own audits use) in a real Chromium: labels, contrast, names, focus order.
Nothing serious or critical may be found. A screenshot of each screen in each language is
saved under build/screenshots/ for review."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Browser, Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.console_contract import CONSOLES
from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.browser import SHOTS, english_words, sign_in, watch
from tests.support.live import LiveApp, serve

AXE = CONSOLES / "node_modules" / "axe-core" / "axe.min.js"
#: What must not be found. Moderate and minor findings are reported, not refused.
REFUSED = {"serious", "critical"}

Opener = Callable[[Page, LiveApp, AsyncEngine], Awaitable[None]]


async def _sign_in(page: Page, app: LiveApp, username: str, totp: str = "") -> None:
    await sign_in(page, app.base_url, username, totp)


async def _sign_in_page(page: Page, app: LiveApp, engine: AsyncEngine) -> None:
    await page.goto(f"{app.base_url}/app/")
    await expect(page.locator("#sign-in")).to_be_visible()


async def _desk(page: Page, app: LiveApp, engine: AsyncEngine) -> None:
    await _sign_in(page, app, "ct1")
    await expect(page.locator("#incident-form")).to_be_visible()


async def _map(page: Page, app: LiveApp, engine: AsyncEngine) -> None:
    await _sign_in(page, app, "disp1")
    await expect(page.locator("#map[data-ready]")).to_be_attached(timeout=30_000)


async def _board(page: Page, app: LiveApp, engine: AsyncEngine) -> None:
    await _sign_in(page, app, "lead1", await builders.totp_code(engine, "lead1"))
    await expect(page.locator("#targets-chart canvas")).to_have_count(1)


async def _terminal(page: Page, app: LiveApp, engine: AsyncEngine) -> None:
    await page.goto(f"{app.base_url}/app/")
    async with engine.connect() as conn:
        unit = await conn.scalar(text("SELECT min(id) FROM dispatch_units"))
    await page.fill("input[name=device_token]", await builders.device(engine, unit))
    await page.click("#device-sign-in button[type=submit]")
    await expect(page.locator("#unit-link")).to_have_attribute("data-state", "live")


async def _admin(page: Page, app: LiveApp, engine: AsyncEngine) -> None:
    await builders.user(engine, "admin1", "admin")
    await _sign_in(page, app, "admin1", await builders.totp_code(engine, "admin1"))
    await expect(page.locator("#users tr[data-user='disp1']")).to_be_visible()


SCREENS: dict[str, Opener] = {
    "sign-in": _sign_in_page,
    "call-taker-desk": _desk,
    "dispatcher-map": _map,
    "leader-board": _board,
    "field-terminal": _terminal,
    "administration": _admin,
}


async def _findings(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now."""
    if not await page.evaluate("() => 'axe' in window"):
        await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({rule: v.id, impact: v.impact, help: v.help,
                        where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )
    return found


async def test_every_screen_in_both_languages_has_no_serious_accessibility_finding(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    assert AXE.is_file(), "axe-core is not installed: run `make setup`"
    SHOTS.mkdir(parents=True, exist_ok=True)
    await b.seeded(map_engine)
    refused: dict[str, list[dict[str, Any]]] = {}
    async with serve(map_url) as app:
        await b.crew(app.http, map_engine)
        for screen, open_screen in SCREENS.items():
            # The checker is a script of the test's own, so the page's content policy is
            # lifted for it; the policy itself is held by the other console tests.
            context = await browser.new_context(
                bypass_csp=True, viewport={"width": 1440, "height": 900}
            )
            page = await context.new_page()
            problems = watch(page)
            await open_screen(page, app, map_engine)
            for lang in ("zh-CN", "en"):
                if lang == "en":
                    await page.click("#lang")
                await expect(page.locator(f"html[lang='{lang}']")).to_be_attached()
                await page.screenshot(path=str(SHOTS / f"{screen}.{lang}.png"), full_page=True)
                if lang == "zh-CN":
                    assert await english_words(page) == [], screen
                for finding in await _findings(page):
                    print(f"axe {screen} {lang}: {finding}")
                    if finding["impact"] in REFUSED:
                        refused.setdefault(f"{screen} {lang}", []).append(finding)
            await context.close()
            assert problems == [], (screen, problems)
    assert refused == {}
    saved = {p.name for p in SHOTS.glob("*.png")}
    assert {f"{s}.{lang}.png" for s in SCREENS for lang in ("en", "zh-CN")} <= saved
