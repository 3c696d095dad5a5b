"""Debian's headless Chromium for the browser tests, and what a page reports as wrong."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

from tests.support.builders import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: where the browser tests save what each screen looks like, for review
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
#: a camera and a microphone of Chromium's own (a test pattern and a beep), allowed without
#: asking, and video that plays with its sound before anyone clicks
MEDIA_FLAGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


@asynccontextmanager
async def chromium(*, media: bool = False) -> AsyncIterator[Browser]:
    """The system's browser: nothing is downloaded. ``media``: with a fake camera."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=[*FLAGS, *(MEDIA_FLAGS if media else [])]
        )
        try:
            yield browser
        finally:
            await browser.close()


def watch(page: Page) -> list[str]:
    """Script errors and console errors (a content-policy violation is one), as they come."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None,
    )
    return problems


async def sign_in(page: Page, base_url: str, username: str, totp: str = "",
                  password: str | None = None) -> None:
    """Open the consoles at ``base_url`` and sign in as ``username`` (with its one-time code)."""
    await page.goto(f"{base_url}/app/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password or PASSWORD)
    if totp:
        await page.fill("input[name=totp]", totp)
    await page.click("#sign-in button[type=submit]")
