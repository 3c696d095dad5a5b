"""One emergency call followed across the four screens in a real Chromium, as the people of the
centre live it: the simulated call pops on the call-taker's desk (Asterisk's manager protocol),
who logs the incident at a misspelled address, switching to Chinese mid-way without losing a
value; the dispatcher sees it on the map, opens it and dispatches the recommended units from
the command line; the first unit's terminal is pushed the assignment, acknowledges, goes en
route and arrives; the dispatcher's status board and the leader board follow without a reload;
the leader joins the incident's video consultation from the board (a real Janus). Every screen
is saved in both languages (build/screenshots/flow-*.png), and a browser console error anywhere
fails the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.console_contract import CONSOLES
from telephony.simulator import AmiSimulator
from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.browser import SHOTS, chromium, english_words, sign_in, watch
from tests.support.consultations import Seat, consultation
from tests.support.janus import JanusServer, janus
from tests.support.live import LiveApp, serve
from tests.support.plan_builders import approved_demo_plans

pytestmark = pytest.mark.timeout(300)
__all__ = ["janus"]  # the module's real Janus
SHARED = CONSOLES.parent.parent / "shared"
SEAT = "Local/1001@agents"
CALLER = "+4237775101"


@pytest.fixture
async def centre(
    map_url: str, map_engine: AsyncEngine, janus: JanusServer, tmp_path: Path
) -> AsyncIterator[tuple[LiveApp, AmiSimulator]]:
    """The whole centre: its call centre simulated over AMI, its media server a real Janus."""
    await b.seeded(map_engine)
    sim = AmiSimulator(speed=1.0, seed=11)
    await sim.start()
    try:
        async with serve(
            map_url, ami_port=sim.port, ami_secret="cadsecret", shared_dir=SHARED,
            attachment_dir=tmp_path / "attachments", janus_url=janus.url,
            janus_api_secret=janus.api_secret(), janus_recordings_dir=janus.recordings_dir,
        ) as app:
            await app.container.telephony.bridge.wait_ready(10)
            assert await approved_demo_plans(app.container)
            yield app, sim
    finally:
        await sim.stop()


async def _both_languages(page: Page, screen: str, lang: str) -> None:
    """The screen as it is (in ``lang``), then in the other language, then back."""
    other = "en" if lang == "zh-CN" else "zh-CN"
    await page.screenshot(path=str(SHOTS / f"flow-{screen}.{lang}.png"), full_page=True)
    await page.click("#lang")
    await expect(page.locator("html")).to_have_attribute("lang", other)
    await page.screenshot(path=str(SHOTS / f"flow-{screen}.{other}.png"), full_page=True)
    await page.click("#lang")
    await expect(page.locator("html")).to_have_attribute("lang", lang)


async def _page(browser: Browser, **options: object) -> tuple[BrowserContext, Page, list[str]]:
    context = await browser.new_context(**options)  # type: ignore[arg-type]
    page = await context.new_page()
    return context, page, watch(page)


async def test_one_call_from_the_ring_to_arrival_across_the_four_screens(
    centre: tuple[LiveApp, AmiSimulator], map_engine: AsyncEngine
) -> None:
    app, sim = centre
    SHOTS.mkdir(parents=True, exist_ok=True)
    crew = await b.crew(app.http, map_engine)
    taker = await builders.signed_in(app.http, map_engine, "ct9", "call_taker")
    located = await app.http.post(  # the caller's handset location (AML)
        "/api/v1/telephony/locations", headers=taker,
        json={"number": CALLER, "lat": 47.1405, "lon": 9.5215, "source": "aml"},
    )
    assert located.status_code == 201, located.text
    lon, lat = b.VADUZ_CENTRE

    async with chromium(media=True) as browser:
        # --- the leader's board is up on the wall from the start
        _, board, board_problems = await _page(browser)
        await sign_in(board, app.base_url, "lead1", await builders.totp_code(map_engine, "lead1"))
        fleet = (await app.http.get("/api/v1/units/board", headers=crew.dispatcher)).json()
        available = sum(1 for u in fleet["units"] if u["status"] == "available")
        await expect(board.locator("#open-count")).to_have_text("0")
        await expect(board.locator("#available-count")).to_have_text(str(available))

        # --- the call-taker's desk: the call pops, the incident is logged and linked
        _, desk, desk_problems = await _page(browser)
        await sign_in(desk, app.base_url, "ct9")
        await desk.click("#lang")  # this call-taker starts in English
        await expect(desk.locator("html")).to_have_attribute("lang", "en")
        await desk.fill("input[name=seat]", SEAT)
        await desk.click("#seat-sign-in")
        await expect(desk.locator("#seat-state")).to_have_attribute("data-state", "available")
        await expect(desk.locator("#pop-link")).to_have_attribute("data-state", "live")
        sim.originate_caller(CALLER, "Anna Beispiel", hold_for=600, talk=600)
        await expect(desk.locator("#pop-caller")).to_have_text(f"{CALLER} Anna Beispiel",
                                                              timeout=30_000)
        await expect(desk.locator("#pop-location")).to_contain_text("47.14050, 9.52150")
        call_id = await desk.locator("#pop").get_attribute("data-call")
        form = desk.locator("#incident-form")
        await expect(form.locator("input[name=caller_phone]")).to_have_value(CALLER)
        await form.locator("select[name=type]").select_option("fire.structure")
        # as the caller says it, without the umlaut
        await form.locator("input[name=address]").press_sequentially("Stadtle")
        await expect(desk.locator("#suggestions button").first).to_contain_text("Städtle")
        await desk.locator("#suggestions button").first.click()
        address = await form.locator("input[name=address]").input_value()
        assert "Städtle" in address
        await form.locator("textarea[name=summary]").fill("smoke from a roof, people inside")
        await desk.screenshot(path=str(SHOTS / "flow-desk.en.png"), full_page=True)
        # Chinese mid-flow: every value stays, and the screen says nothing in English
        await desk.click("#lang")
        await expect(desk.locator("html")).to_have_attribute("lang", "zh-CN")
        await expect(form.locator("select[name=type]")).to_have_value("fire.structure")
        await expect(form.locator("input[name=address]")).to_have_value(address)
        await expect(form.locator("input[name=caller_phone]")).to_have_value(CALLER)
        await expect(form.locator("textarea[name=summary]")).to_have_value(
            "smoke from a roof, people inside")
        await expect(desk.locator("#form-call")).to_contain_text(str(call_id))
        assert await english_words(desk) == []
        await desk.screenshot(path=str(SHOTS / "flow-desk.zh-CN.png"), full_page=True)
        await form.locator("button[type=submit]").click()
        created = desk.locator("#incident-created")
        await expect(created).to_contain_text("已创建")
        number = (await created.inner_text()).split()[1]
        async with map_engine.connect() as conn:
            linked = await conn.scalar(text(
                "SELECT i.number FROM incident_calls c JOIN incidents i ON i.id = c.incident_id"
                " WHERE c.call_id = :c"), {"c": call_id})
        assert linked == number

        # --- the dispatcher: on the map, opened, the recommended units sent by command line
        _, dispatcher, dispatcher_problems = await _page(browser)
        await sign_in(dispatcher, app.base_url, "disp1")
        await expect(dispatcher.locator("#map[data-ready]")).to_be_attached(timeout=30_000)
        await expect(dispatcher.locator(".marker.incident", has_text=number)).to_have_count(1)
        await dispatcher.locator(".marker.incident", has_text=number).click()
        await expect(dispatcher.locator("#incident-view h3")).to_contain_text(number)
        await dispatcher.keyboard.press("Alt+R")
        recommended = dispatcher.locator("#recommended li")
        await expect(recommended.first).to_contain_text("车程")
        units: list[str] = await recommended.evaluate_all("all => all.map(e => e.dataset.unit)")
        assert len(units) >= 2
        first = units[0]

        # the first unit's terminal is on in the vehicle, its GPS on
        token = await builders.device(map_engine, first)
        _, terminal, terminal_problems = await _page(
            browser, geolocation={"latitude": lat, "longitude": lon, "accuracy": 8},
            permissions=["geolocation"])
        await terminal.goto(f"{app.base_url}/app/")
        await terminal.fill("input[name=device_token]", token)
        await terminal.click("#device-sign-in button[type=submit]")
        await expect(terminal.locator("#unit-link")).to_have_attribute("data-state", "live")
        await expect(terminal.locator("#no-assignment")).to_be_visible()

        command = dispatcher.locator("#command")
        await command.fill(f"D {' '.join(units)} {number}")
        await expect(dispatcher.locator("#command-preview")).to_have_text(
            f"回车:派遣 {' '.join(units)} 前往 {number}")
        await command.press("Enter")
        await expect(dispatcher.locator("#command-outcome")).to_have_text(
            f"已派遣 {' '.join(units)} 前往 {number}")
        await expect(dispatcher.locator("#incident-units li")).to_have_count(len(units))

        # --- the terminal: pushed at once, acknowledged, en route, on scene
        await expect(terminal.locator("#assignment")).to_have_attribute("data-incident", number)
        await expect(terminal.locator("#route")).to_contain_text("公里")
        await terminal.keyboard.press("Alt+K")
        await expect(terminal.locator("#acknowledged")).to_be_visible()
        row = dispatcher.locator(f"#status-board tr[data-unit='{first}']")
        await terminal.keyboard.press("Alt+1")
        await expect(terminal.locator("#unit-status")).to_have_attribute("data-status", "en_route")
        await expect(row.locator("[data-status]")).to_have_text("在途")  # without a reload
        await terminal.keyboard.press("Alt+2")
        await expect(terminal.locator("#unit-status")).to_have_attribute("data-status", "on_scene")
        await expect(row.locator("[data-status]")).to_have_text("到场")
        assigned = await app.http.get(f"/api/v1/units/{first}", headers=crew.dispatcher)
        assert assigned.json()["status"] == "on_scene"
        assert assigned.json()["acknowledged_at"] is not None

        # --- the leader board followed it all, and the leader joins the consultation
        await expect(board.locator("#open-count")).to_have_text("1")
        await expect(board.locator("#available-count")).to_have_text(str(available - len(units)))
        host = Seat("disp1", crew.dispatcher)
        cid = await consultation(app, host, ["lead1"],
                                 incident_id=await _incident_id(map_engine, number))
        join = board.locator(f"#consultations [data-consultation='{cid}'] .join")
        await join.click()
        await expect(board.locator("#call")).to_have_attribute("data-state", "joined",
                                                               timeout=30_000)
        details = await app.http.get(f"/api/v1/consultations/{cid}", headers=crew.dispatcher)
        states = {p["member"]: p["state"] for p in details.json()["participants"]}
        assert states.get("user:lead1") == "joined", states

        # every screen in both languages
        await _both_languages(dispatcher, "dispatcher-map", "zh-CN")
        await _both_languages(terminal, "field-terminal", "zh-CN")
        await _both_languages(board, "leader-board", "zh-CN")
        await board.click("#leave")
        await expect(join).to_be_visible()

        assert desk_problems == []
        assert dispatcher_problems == []
        assert terminal_problems == []
        assert board_problems == []


async def _incident_id(engine: AsyncEngine, number: str) -> int:
    async with engine.connect() as conn:
        found = await conn.scalar(text("SELECT id FROM incidents WHERE number = :n"),
                                  {"n": number})
    assert isinstance(found, int)
    return found
