"""The API's reference at /docs in a real headless Chromium: drawn from the app's own files,
under the strict content policy, with nothing asked of another site."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import expect

from tests.support.browser import chromium, watch
from tests.support.live import LiveApp


async def test_the_reference_renders_offline_from_the_apps_own_files(live: LiveApp) -> None:
    origin = urlsplit(live.base_url).netloc
    asked: list[str] = []
    async with chromium() as browser:
        page = await browser.new_page()
        page.on("request", lambda r: asked.append(r.url))
        problems = watch(page)
        await page.goto(f"{live.base_url}/docs")
        # Operations of the document are listed, so the script ran and read /openapi.json.
        await expect(
            page.locator(".opblock-summary-path", has_text="/api/v1/incidents").first
        ).to_be_visible(timeout=30_000)
    elsewhere = [
        u for u in asked if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != origin
    ]
    assert elsewhere == []
    assert any(u.endswith("/openapi.json") for u in asked)
    assert problems == []
