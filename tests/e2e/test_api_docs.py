"""The API's reference at /docs in a real headless Chromium: drawn from the app's own files,
under the strict content policy, with nothing asked of another site."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

from playwright.async_api import async_playwright, expect

from tests.support.live import LiveApp

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


async def test_the_reference_renders_offline_from_the_apps_own_files(live: LiveApp) -> None:
    origin = urlsplit(live.base_url).netloc
    asked: list[str] = []
    problems: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await browser.new_page()
            page.on("request", lambda r: asked.append(r.url))
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on(
                "console",
                lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None,
            )
            await page.goto(f"{live.base_url}/docs")
            # Operations of the document are listed, so the script ran and read /openapi.json.
            await expect(
                page.locator(".opblock-summary-path", has_text="/api/v1/incidents").first
            ).to_be_visible(timeout=30_000)
        finally:
            await browser.close()
    elsewhere = [
        u for u in asked if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != origin
    ]
    assert elsewhere == []
    assert any(u.endswith("/openapi.json") for u in asked)
    assert problems == []
