"""The console in a real headless Chromium: sign in, verify an address, see live events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from command import events
from command.auth import service, totp
from command.events import NewEvent
from command.tables import users
from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.browser import watch
from tests.support.live import LiveApp, serve


async def _delivered_seq(engine: AsyncEngine, event_id: int) -> int:
    """The sequence number consoles see for an event: assigned after its commit."""
    async with engine.connect() as conn:
        await events.sequence(conn)
        seq = await conn.scalar(text("SELECT seq FROM events WHERE id = :i"), {"i": event_id})
    return int(seq)


@pytest.fixture
async def console_app(map_url: str) -> AsyncIterator[LiveApp]:
    async with serve(map_url) as live:
        yield live


async def test_sign_in_verify_an_address_and_follow_events(
    browser: Browser, console_app: LiveApp
) -> None:
    await builders.user(console_app.container.engine, "disp", "dispatcher")
    page = await browser.new_page()
    problems = watch(page)
    await page.goto(console_app.base_url)

    await page.fill("input[name=username]", "disp")
    await page.fill("input[name=password]", "wrong password")
    await page.click("#signin button[type=submit]")
    await expect(page.locator("#signin-error")).to_have_text("wrong username or password")
    problems.clear()  # the browser reports the refused sign-in (401) as a console error

    await page.fill("input[name=password]", builders.PASSWORD)
    await page.click("#signin button[type=submit]")
    await expect(page.locator("#console-view")).to_be_visible()
    await expect(page.locator("#health .ok", has_text="database")).to_be_visible()
    await expect(page.locator("#who")).to_contain_text("disp (dispatcher)")

    # The offline basemap: style and vector tiles from the app, rendered without an error.
    await expect(page.locator("#map[data-ready]")).to_be_attached(timeout=30_000)

    await page.fill("#q", "Kunstmuseum Liechtenstein")
    await page.press("#q", "Enter")
    await expect(page.locator("#candidates li").first).to_contain_text("Kunstmuseum")
    await expect(page.locator(".maplibregl-marker")).not_to_have_count(0)

    await expect(page.locator("#feed-state")).to_have_text("实时")
    async with console_app.container.engine.begin() as conn:
        (written,) = await events.append(conn, [NewEvent("test.console", "test", "42")])
    seq = await _delivered_seq(console_app.container.engine, written)
    await expect(page.locator(f"#events li[data-seq='{seq}']")).to_contain_text("test.console")

    await page.click("#lang")
    await expect(page.locator("h1")).to_have_text("Command and dispatch")
    await page.close()
    assert problems == []


async def test_a_call_becomes_an_incident_with_units_assigned(
    browser: Browser, console_app: LiveApp, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    await builders.user(console_app.container.engine, "disp2", "dispatcher")
    page = await browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    await page.goto(console_app.base_url)
    await page.fill("input[name=username]", "disp2")
    await page.fill("input[name=password]", builders.PASSWORD)
    await page.click("#signin button[type=submit]")
    # The console knows its region once signed in; a search typed before that has none.
    await expect(page.locator("#who")).to_contain_text("disp2 (dispatcher)")
    await page.click("#lang")  # English

    await page.fill("#q", "Kunstmuseum Liechtenstein")
    await page.press("#q", "Enter")
    await page.locator("#candidates li").first.get_by_role("button", name="use").click()
    await expect(page.locator("#chosen-place")).to_contain_text("Kunstmuseum")
    await page.select_option("#incident-form select[name=type]", "fire.structure")
    await page.fill("#incident-form input[name=caller_phone]", "+423 777 10 01")
    await page.fill("#incident-form textarea[name=summary]", "smoke from the museum roof")
    await page.click("#incident-form button[type=submit]")

    await expect(page.locator("#incident-result")).to_contain_text("created")
    await expect(page.locator("#recommendation li").first).to_contain_text("min")
    recommended = await page.locator("#recommendation li").evaluate_all(
        "items => items.map(i => i.dataset.unit)"
    )
    await page.click("#assign")
    await expect(page.locator("#assign-result")).to_contain_text("assigned")
    await expect(page.locator("#incidents tbody tr").first).to_contain_text("dispatched")

    async with map_engine.connect() as conn:
        rows = await conn.execute(text("SELECT unit_id FROM dispatch_assignments ORDER BY unit_id"))
        assigned = [r.unit_id for r in rows]
    assert assigned == sorted(recommended)
    assert len(assigned) >= 2  # a structure fire's run card needs more than one unit
    await page.close()
    assert problems == []


async def test_a_supervisor_sets_up_the_second_factor_then_signs_in_with_it(
    browser: Browser, console_app: LiveApp
) -> None:
    engine = console_app.container.engine
    async with engine.begin() as conn:  # no second factor yet
        await service.create_user(conn, "sup", builders.PASSWORD, "supervisor")
    page = await browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    await page.goto(console_app.base_url)
    await page.fill("input[name=username]", "sup")
    await page.fill("input[name=password]", builders.PASSWORD)
    await page.click("#signin button[type=submit]")
    await expect(page.locator("#totp-enrol")).to_be_visible()
    await expect(page.locator("#console-view")).to_be_hidden()
    await page.click("#totp-begin")
    await expect(page.locator("#totp-uri")).to_contain_text("otpauth://totp/CAD:sup?secret=")
    secret = await page.locator("#totp-secret").text_content()
    assert secret
    await page.fill("#totp-enrol input[name=code]", totp.code_at(secret, datetime.now(UTC)))
    await page.click("#totp-enrol button[type=submit]")
    await expect(page.locator("#recovery-codes li")).to_have_count(10)
    await page.click("#recovery-done")
    await expect(page.locator("#who")).to_contain_text("sup (supervisor)")

    # Signed out and in again: now with a code in the one-time code field.
    await page.click("#logout")
    await page.fill("input[name=username]", "sup")
    await page.fill("input[name=password]", builders.PASSWORD)
    async with engine.connect() as conn:
        last = await conn.scalar(select(users.c.totp_last_step).where(users.c.username == "sup"))
    assert last is not None
    await page.fill("input[name=totp]", totp.hotp(totp.key_of(secret), int(last) + 1))
    await page.click("#signin button[type=submit]")
    await expect(page.locator("#who")).to_contain_text("sup (supervisor)")
    await page.close()
    assert problems == []


async def test_a_supervisor_unlocks_an_account_from_the_console(
    browser: Browser, console_app: LiveApp
) -> None:
    engine = console_app.container.engine
    await builders.user(engine, "locked2", "call_taker")
    wrong = {"username": "locked2", "password": "guess guess"}
    for _ in range(5):
        await console_app.http.post("/api/v1/auth/login", json=wrong)
    right = {"username": "locked2", "password": builders.PASSWORD}
    assert (await console_app.http.post("/api/v1/auth/login", json=right)).status_code == 429
    await builders.user(engine, "sup2", "supervisor")
    page = await browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    await page.goto(console_app.base_url)
    await page.fill("input[name=username]", "sup2")
    await page.fill("input[name=password]", builders.PASSWORD)
    await page.fill("input[name=totp]", await builders.totp_code(engine, "sup2"))
    await page.click("#signin button[type=submit]")
    await expect(page.locator("#who")).to_contain_text("sup2 (supervisor)")
    await expect(page.locator("#unlock")).to_be_visible()
    await page.fill("#unlock-form input[name=username]", "locked2")
    await page.click("#unlock-form button[type=submit]")
    await expect(page.locator("#unlock-result")).to_contain_text("locked2")
    assert (await console_app.http.post("/api/v1/auth/login", json=right)).status_code == 200
    # An unknown name is answered in the panel, and nothing else changes.
    await page.fill("#unlock-form input[name=username]", "nobody")
    await page.click("#unlock-form button[type=submit]")
    await expect(page.locator("#unlock-result")).not_to_contain_text("已解除锁定")
    assert await page.locator("#unlock-result").text_content()
    await page.close()
    assert problems == []
