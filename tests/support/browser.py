"""Debian's headless Chromium for the browser tests, and what a page reports as wrong."""

from __future__ import annotations

import re
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


#: Latin words that may stand in a Chinese screen's own wording: names of products and of
#: the other language, key names, and the placeholders that show what to type.
LATIN_ALLOWED = {"English", "Alt", "OpenStreetMap", "MapLibre", "OsmAnd", "Traccar", "Client",
                 "Asterisk", "GPS", "ENR", "ONS", "AV", "NOTE", "Local", "agents", "TOTP"}


async def english_words(page: Page) -> list[str]:
    """Latin words in what the screen itself says (headings, labels, buttons, column heads,
    options, placeholders), not in the data it shows (names, numbers, unit ids; an option
    that names a thing of the data, such as a station, says so with ``data-datum``)."""
    texts: list[str] = await page.evaluate(
        """() => [...document.querySelectorAll(
              'h1, h2, h3, h4, label, button, th[scope=col], option, summary, legend, dialog th')]
            .filter(e => e.offsetParent !== null || e.tagName === 'OPTION')
            .filter(e => !e.hasAttribute('data-datum'))
            .map(e => e.tagName === 'LABEL'
              ? [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join(' ')
              : e.textContent)
            .concat([...document.querySelectorAll('input[placeholder], textarea[placeholder]')]
              .map(e => e.getAttribute('placeholder')))"""
    )
    found = {w for t in texts for w in re.findall(r"\b[A-Za-z][a-z]{2,}\b", t or "")}
    return sorted(found - LATIN_ALLOWED)
