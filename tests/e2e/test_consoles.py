"""The consoles application (consoles/, built by ops/setup, served at /app/) in a real headless
Chromium: sign-in refusals worded from their code in Chinese, the language switched without
losing what is typed, a forced password change, and the service's state once signed in."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from playwright.async_api import Browser, Page, expect
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from command import events
from command.console_contract import CONSOLES
from command.events import NewEvent
from command.tables import users
from ops.tcp_relay import LinkCut
from telephony.simulator import AmiSimulator
from tests.support import builders, track_builders
from tests.support import dispatch_builders as b
from tests.support.browser import SHOTS, sign_in, watch
from tests.support.live import LiveApp, serve
from tests.support.log_secrets import KNOWN
from tests.support.plan_builders import approved_demo_plans
from tests.support.waiting import until

BUILT = CONSOLES.parent / "command" / "static" / "app" / "index.html"
#: The shared folder (AMI fixtures) and a seat of the simulated call centre.
SHARED = CONSOLES.parent.parent / "shared"
SEAT = "Local/1001@agents"


async def test_a_refusal_is_worded_in_chinese_and_the_switch_keeps_what_is_typed(
    browser: Browser, live: LiveApp
) -> None:
    await builders.user(live.container.engine, "ct1", "call_taker")
    page = await browser.new_page()
    problems = watch(page)
    await page.goto(f"{live.base_url}/app/")
    await expect(page.locator("h1")).to_have_text("指挥调度")

    await page.fill("input[name=username]", "ct1")
    await page.fill("input[name=password]", "not the password")
    await page.click("#sign-in button[type=submit]")
    refusal = page.locator("#sign-in-problem")
    await expect(refusal).to_have_attribute("data-code", "auth.credentials_wrong")
    await expect(refusal).to_have_text("用户名或密码错误")
    problems.clear()  # the browser reports the refused sign-in (401) as a console error

    await page.click("#lang")
    await expect(page.locator("h1")).to_have_text("Command and dispatch")
    await expect(refusal).to_have_text("wrong username or password")
    await expect(page.locator("input[name=username]")).to_have_value("ct1")
    await expect(page.locator("input[name=password]")).to_have_value("not the password")

    await page.fill("input[name=password]", builders.PASSWORD)
    await page.click("#sign-in button[type=submit]")
    await expect(page.locator("#who")).to_have_text("ct1 (call-taker)")
    await expect(page.locator("#health [data-part=database]")).to_have_text("database: ok")
    await page.click("#lang")
    await expect(page.locator("#who")).to_have_text("ct1(接警员)")
    await page.close()
    assert problems == []


async def test_the_feed_starts_at_the_head_is_live_and_resumes_after_a_drop(
    browser: Browser, live: LiveApp
) -> None:
    engine = live.container.engine
    await builders.user(engine, "ct3", "call_taker")
    async with engine.begin() as conn:  # history: not replayed to a new sign-in
        await events.append(conn, [NewEvent("test.before", "t", "old")])
    await until(lambda: live.container.hub.last_seq >= 1)
    relay = LinkCut(int(live.base_url.rsplit(":", 1)[1]))  # the network between page and app
    await relay.start()
    page = await browser.new_page()
    problems = watch(page)
    await page.goto(f"http://127.0.0.1:{relay.port}/app/")
    await page.click("#lang")  # English
    await page.fill("input[name=username]", "ct3")
    await page.fill("input[name=password]", builders.PASSWORD)
    await page.click("#sign-in button[type=submit]")
    state = page.locator("#feed-state")
    await expect(state).to_have_attribute("data-state", "live")
    await expect(state).to_have_text("live")

    async with engine.begin() as conn:
        await events.append(conn, [NewEvent("test.first", "t", "a")])
    await expect(page.locator("#events li[data-type='test.first']")).to_have_count(1)
    await expect(page.locator("#events li[data-type='test.before']")).to_have_count(0)

    # The network goes away and comes back: the feed says so, comes back by itself, and shows
    # what was written meanwhile exactly once.
    await relay.cut()
    await expect(state).to_have_attribute("data-state", "reconnecting")
    async with engine.begin() as conn:
        await events.append(conn, [NewEvent("test.meanwhile", "t", "b")])
    await relay.restore()
    await expect(state).to_have_attribute("data-state", "live", timeout=20_000)
    await expect(page.locator("#events li[data-type='test.meanwhile']")).to_have_count(1)
    await expect(page.locator("#events li[data-type='test.first']")).to_have_count(1)

    # Events are worded in the screen's language, an incident by its number; a kind with no
    # words yet by its family, never as the raw type.
    async with engine.begin() as conn:
        await events.append(conn, [
            NewEvent("incident.created", "incident", "42", {"number": "2026-000042"}),
            NewEvent("incident.kind_of_tomorrow", "incident", "42", {"number": "2026-000042"}),
        ])
    created = page.locator("#events li[data-type='incident.created']")
    newer = page.locator("#events li[data-type='incident.kind_of_tomorrow']")
    await expect(created).to_contain_text("Incident created 2026-000042")
    await expect(newer).to_contain_text("Incident changed 2026-000042")
    await page.click("#lang")
    await expect(created).to_contain_text("警情已创建 2026-000042")
    await expect(newer).to_contain_text("警情变更 2026-000042")
    await page.close()
    await relay.stop()
    # While cut, the browser reports each refused connection as a console error.
    assert [p for p in problems if "ERR_CONNECTION" not in p and "WebSocket" not in p] == []


async def test_a_user_told_to_change_the_password_does_so_first(
    browser: Browser, live: LiveApp
) -> None:
    engine = live.container.engine
    await builders.user(engine, "ct2", "call_taker")
    async with engine.begin() as conn:  # as after an administrator's reset
        await conn.execute(
            update(users).where(users.c.username == "ct2").values(must_change_password=True)
        )
    page = await browser.new_page()
    problems = watch(page)
    await sign_in(page, live.base_url, "ct2")
    await expect(page.locator("#step-notice")).to_have_text("密码已被重置:请先修改密码")
    await expect(page.locator("#health")).to_have_count(0)

    new = "a brand new passphrase 42"
    KNOWN.add(new)
    await page.fill("#password-change input[name=current]", builders.PASSWORD)
    await page.fill("#password-change input[name=new]", new)
    await page.click("#password-change button[type=submit]")
    await expect(page.locator("#health [data-part=database]")).to_be_visible()
    await page.close()
    assert problems == []


async def _drawn(page: Page, lang: str) -> bytes:
    """The map as drawn (saved for review); page text over it hidden for the comparison."""
    await page.locator("#map").screenshot(path=str(SHOTS / f"map-names.{lang}.png"))
    over = "#map .marker, #map .maplibregl-control-container"
    await page.eval_on_selector_all(over, "all => all.forEach(e => e.style.opacity = '0')")
    drawn = await page.locator("#map").screenshot()
    await page.eval_on_selector_all(over, "all => all.forEach(e => e.style.opacity = '')")
    return drawn


async def test_the_dispatcher_dispatches_and_moves_units_from_the_command_line(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    async with serve(map_url) as app:
        crew = await b.crew(app.http, map_engine)
        incident = await b.fire(app.http, crew)
        number = incident["number"]
        board = (await app.http.get("/api/v1/units/board", headers=crew.dispatcher)).json()
        first, second = sorted(u["id"] for u in board["units"] if u["status"] == "available")[:2]

        page = await browser.new_page()
        problems = watch(page)
        await sign_in(page, app.base_url, "disp1")
        command = page.locator("#command")
        preview = page.locator("#command-preview")

        await command.fill("X9 ENR")
        await expect(preview).to_have_text("没有此单位:X9")
        await command.fill(f"d {first.lower()} {second} {number}")
        await expect(preview).to_have_text(f"回车:派遣 {first} {second} 前往 {number}")
        await command.press("Enter")
        await expect(page.locator("#command-outcome")).to_have_text(
            f"已派遣 {first} {second} 前往 {number}"
        )
        async with map_engine.connect() as conn:
            rows = await conn.execute(text("SELECT unit_id FROM dispatch_assignments"))
            assert sorted(r.unit_id for r in rows) == [first, second]

        # The map and the queue: the incident on both, the dispatched units on it.
        await expect(page.locator("#map[data-ready]")).to_be_attached(timeout=30_000)
        await expect(page.locator(".marker.incident", has_text=number)).to_have_count(1)
        await page.locator(f"#queue li[data-number='{number}'] button").click()
        await expect(page.locator("#incident-units li")).to_have_count(2)
        await expect(page.locator(f"#incident-units li[data-unit='{first}']")).to_contain_text(
            "已派遣"
        )

        # Place names in the screen's language, drawn from the browser's fonts: Vaduz is
        # 瓦杜茲 on the Chinese map. Only the map's own drawing is compared (the markers and
        # the attribution are page text, in the page's font for the language).
        await expect(page.locator("#map[data-names='zh']")).to_be_attached()
        in_chinese = await _drawn(page, "zh-CN")
        await page.click("#lang")  # what is typed stays, worded in English
        await expect(page.locator("#map[data-names='en']")).to_be_attached()
        assert await _drawn(page, "en") != in_chinese
        await command.fill(f"{first} E")
        await expect(page.locator("#completions li")).to_have_text(["ENR"])
        await command.press("Tab")
        await expect(command).to_have_value(f"{first} ENR ")
        await expect(preview).to_have_text(f"Enter: {first} → en route")
        await command.press("Enter")
        await expect(page.locator("#command-outcome")).to_have_text(f"{first}: en route")
        unit = await app.http.get(f"/api/v1/units/{first}", headers=crew.dispatcher)
        assert unit.json()["status"] == "en_route"

        await command.fill(f"I {number}")
        await command.press("Enter")
        await expect(page.locator("#command-outcome")).to_have_text(
            f"{number}: en route, priority 1, -"
        )
        await page.close()
        assert problems == []

        # A call-taker's desk has no command line: nothing there would answer 403.
        page = await browser.new_page()
        await sign_in(page, app.base_url, "ct1")
        await expect(page.locator("#feed-state")).to_be_visible()
        await expect(page.locator("#command")).to_have_count(0)
        await page.close()


async def test_the_dispatcher_assigns_the_recommended_units_by_keyboard_and_cancels_one(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    async with serve(map_url) as app:
        assert await approved_demo_plans(app.container)
        crew = await b.crew(app.http, map_engine)
        incident = await b.fire(app.http, crew)
        number = incident["number"]

        page = await browser.new_page()
        problems = watch(page)
        await sign_in(page, app.base_url, "disp1")
        # By keyboard: the queue, its first incident opened with Alt+↓.
        await expect(page.locator(f"#queue li[data-number='{number}']")).to_be_visible()
        await page.keyboard.press("Alt+Q")
        await page.keyboard.press("Alt+ArrowDown")
        await expect(page.locator("#incident-view h3")).to_contain_text(number)
        # F1 lists the keys of this screen as it is now, in Chinese; Escape closes the list.
        await page.keyboard.press("F1")
        help_rows = page.locator("#shortcuts tr")
        await expect(help_rows.filter(has_text="Alt+R")).to_contain_text("为当前警情推荐单位")
        await expect(page.locator("#shortcuts tr[data-action='takePop']")).to_have_count(0)
        await page.keyboard.press("Escape")
        await expect(page.locator("#shortcuts")).not_to_be_visible()
        await page.keyboard.press("F2")
        await expect(page.locator("#command")).to_be_focused()
        await page.keyboard.press("Alt+R")
        chosen = page.locator("#recommended li")
        await expect(chosen.first).to_be_visible()
        # each with its drive time and why, worded in Chinese from the reason's code
        await expect(chosen.first).to_contain_text("车程")
        await expect(chosen.first).to_contain_text("最快的")
        units = await chosen.evaluate_all("all => all.map(e => e.dataset.unit)")
        await page.locator("#dispatch").screenshot(path=str(SHOTS / "recommendation.zh-CN.png"))
        await page.keyboard.press("Alt+A")
        on_it = page.locator("#incident-units li")
        await expect(on_it).to_have_count(len(units))
        async with map_engine.connect() as conn:
            rows = await conn.execute(text("SELECT unit_id FROM dispatch_assignments"))
            assert sorted(r.unit_id for r in rows) == sorted(units)

        await on_it.filter(has_text=units[0]).locator("button.cancel").click()
        await expect(on_it).to_have_count(len(units) - 1)
        unit = await app.http.get(f"/api/v1/units/{units[0]}", headers=crew.dispatcher)
        assert unit.json()["incident_id"] is None

        # The incident's timeline, a note, and the plans that match it with why.
        timeline = page.locator("#timeline li")
        await expect(timeline.filter(has_text="已派遣")).not_to_have_count(0)
        await page.fill("#incident-note input[name=note]", "roof burning, north side")
        await page.click("#incident-note button[type=submit]")
        await expect(timeline.filter(has_text="roof burning, north side")).to_have_count(1)
        plan = page.locator("#plans li[data-plan]").first
        await expect(plan).to_contain_text("✓ 警情类型")
        await plan.locator("button.activate").click()
        await expect(plan).to_contain_text("已启动")
        await expect(page.locator("#tasks li").first).to_be_visible()
        activated = await app.http.get(
            f"/api/v1/incidents/{incident['id']}/plan-activations",
            headers=crew.dispatcher)
        assert len(activated.json()["activations"]) == 1
        # The active plan's evacuation and cordon areas are drawn on the map, and the zones.
        [activation] = activated.json()["activations"]
        areas = sum(1 for k in ("evacuation", "cordon") if activation[k])
        assert areas > 0
        await expect(page.locator(f"#map[data-areas='{areas}']")).to_be_attached()
        zones = await app.http.get("/api/v1/gis/zones", params={"region": b.REGION},
                                   headers=crew.dispatcher)
        count = len(zones.json()["features"])
        await expect(page.locator(f"#map[data-zones='{count}']")).to_be_attached()
        # Graded response, then tiered command: both on the incident, worded in Chinese.
        await page.locator("#incident-level select").select_option("II")
        await page.fill("#incident-level input[name=level-reason]", "two floors burning")
        await page.click("#incident-level button[type=submit]")
        await expect(page.locator("#incident-levels")).to_contain_text("响应 II 级")
        await page.locator("#incident-escalate select").select_option("city")
        await page.fill("#incident-escalate input[name=escalate-reason]", "spreading")
        await page.click("#incident-escalate button[type=submit]")
        await expect(page.locator("#incident-levels")).to_contain_text("市级指挥")
        # Track playback: a unit's breadcrumbs since its assignment, the route drawn, the slider
        # and Play running through them.
        async with map_engine.connect() as conn:
            assigned_at = await conn.scalar(text(
                "SELECT assigned_at FROM dispatch_assignments"
                " WHERE unit_id = :u AND ended_at IS NULL"), {"u": units[1]})
        step = timedelta(milliseconds=200)
        await track_builders.write(map_engine, track_builders.every(
            units[1], assigned_at + step, assigned_at + 5 * step, step, east_m_per_step=30))
        tracks = await app.http.get(
            f"/api/v1/incidents/{incident['id']}/tracks",
            headers=crew.dispatcher)
        lines = len(tracks.json()["lines"]["features"])
        assert len(tracks.json()["points"]["features"]) == 5
        await page.click("#show-tracks")
        await expect(page.locator(f"#map[data-tracks='{lines}']")).to_be_attached()
        await expect(page.locator("#map[data-playback='1']")).to_be_attached()
        slider = page.locator("#playback-time")
        await expect(slider).to_have_attribute("max", "4")
        await slider.fill("0")
        await page.click("#play")
        await expect(slider).to_have_value("4")
        await page.locator("#dispatch").screenshot(path=str(SHOTS / "incident.zh-CN.png"))
        await page.close()
        assert problems == []


async def test_the_status_board_escalates_an_unacknowledged_unit_and_takes_a_radio_report(
    browser: Browser, map_url: str, map_engine: AsyncEngine, tmp_path: Path
) -> None:
    await b.seeded(map_engine)
    timers = tmp_path / "incidents.json"
    timers.write_text(json.dumps({"status_limits_s": {"not_acknowledged": 2}}))
    async with serve(map_url, incidents_config=timers) as app:
        crew = await b.crew(app.http, map_engine)
        incident = await b.fire(app.http, crew)
        board = (await app.http.get("/api/v1/units/board", headers=crew.dispatcher)).json()
        first, second = sorted(u["id"] for u in board["units"] if u["status"] == "available")[:2]
        sent = await app.http.post(f"/api/v1/incidents/{incident['id']}/assignments",
                                   json={"unit_ids": [first, second]}, headers=crew.dispatcher)
        assert sent.status_code == 201, sent.text

        page = await browser.new_page()
        problems = watch(page)
        await sign_in(page, app.base_url, "disp1")
        row = page.locator(f"#status-board tr[data-unit='{first}']")
        await expect(row.locator("[data-status]")).to_have_text("已派遣")
        await expect(row).to_contain_text(incident["number"])
        # Past twice its limit unacknowledged: first on the board, the banner names it.
        await expect(row).to_have_attribute("data-level", "escalated", timeout=20_000)
        await expect(row.locator("td.alert")).to_contain_text("仍未确认")
        await expect(page.locator("#escalation")).to_contain_text(first)
        timer = row.locator("td.timer")
        running = await timer.text_content()
        await expect(timer).not_to_have_text(running or "")  # it runs

        # Acknowledged from the vehicle: the alert goes at the next change.
        acked = await app.http.post(f"/api/v1/units/{first}/acknowledge",
                                    headers=await b.terminal(map_engine, first))
        assert acked.status_code == 200, acked.text
        await expect(row).to_have_attribute("data-level", "none", timeout=20_000)

        # The other one reports by radio: the dispatcher sets its status from its row.
        other = page.locator(f"#status-board tr[data-unit='{second}']")
        await other.locator("select").select_option("en_route")
        await other.locator("button.set-status").click()
        await expect(other.locator("[data-status]")).to_have_text("在途")
        unit = await app.http.get(f"/api/v1/units/{second}", headers=crew.dispatcher)
        assert unit.json()["status"] == "en_route"
        await page.close()
        assert problems == []


async def test_a_call_pops_on_the_call_takers_desk_and_becomes_a_linked_incident(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    sim = AmiSimulator(speed=1.0, seed=5)
    await sim.start()
    try:
        async with serve(
            map_url, ami_port=sim.port, ami_secret="cadsecret", shared_dir=SHARED
        ) as app:
            await app.container.telephony.bridge.wait_ready(10)
            taker = await builders.signed_in(app.http, map_engine, "ct9", "call_taker")
            located = await app.http.post(  # the caller's handset location (AML)
                "/api/v1/telephony/locations",
                headers=taker,
                json={"number": "+4237775001", "lat": 47.141, "lon": 9.521, "source": "aml"},
            )
            assert located.status_code == 201, located.text

            page = await browser.new_page()
            problems = watch(page)
            await sign_in(page, app.base_url, "ct9")
            await page.fill("input[name=seat]", SEAT)
            await page.click("#seat-sign-in")
            await expect(page.locator("#seat-state")).to_have_attribute("data-state", "available")
            await expect(page.locator("#pop-link")).to_have_attribute("data-state", "live")
            await page.click("#seat-pause")
            await expect(page.locator("#seat-state")).to_have_attribute("data-state", "paused")
            await page.click("#seat-resume")
            await expect(page.locator("#seat-state")).to_have_attribute("data-state", "available")

            sim.originate_caller("+4237775001", "Anna Beispiel", hold_for=600, talk=8)
            await expect(page.locator("#pop-caller")).to_have_text("+4237775001 Anna Beispiel")
            await expect(page.locator("#pop-location")).to_contain_text("47.14100, 9.52100")
            form = page.locator("#incident-form")
            await expect(form.locator("input[name=caller_phone]")).to_have_value("+4237775001")
            call_id = await page.locator("#pop").get_attribute("data-call")
            await expect(page.locator("#form-call")).to_contain_text(str(call_id))
            # the clocks against the targets: answered (NENA 15 s), then processing (NFPA 60 s)
            await expect(page.locator("#answer-clock")).to_contain_text("目标 15 秒")
            await expect(page.locator("#process-clock")).to_contain_text("目标 60 秒",
                                                                        timeout=15_000)

            await form.locator("select[name=type]").select_option("fire.structure")
            # misspelled, as a caller says it: no umlaut
            await form.locator("input[name=address]").press_sequentially("Stadtle")
            await expect(page.locator("#suggestions button").first).to_contain_text("Städtle")
            await page.locator("#suggestions button").first.click()
            await form.locator("textarea[name=summary]").fill("smoke from a roof")
            await page.click("#lang")  # English mid-flow: what is typed stays
            await expect(form.locator("textarea[name=summary]")).to_have_value("smoke from a roof")
            await form.locator("button[type=submit]").click()
            created = page.locator("#incident-created")
            await expect(created).to_contain_text("created")
            number = (await created.inner_text()).split()[1]
            await expect(page.locator("#processed-in")).to_contain_text("target 60 s")
            await expect(page.locator("#queue-figures")).to_contain_text("1 answered")

            # A second caller about the same fire: before saving, the desk finds the incident
            # already open there, and one key attaches the call to it.
            sim.originate_caller("+4237775002", "Bruno Nachbar", hold_for=600, talk=600)
            await expect(page.locator("#pop-caller")).to_have_text(
                "+4237775002 Bruno Nachbar", timeout=30_000)
            second_call = await page.locator("#pop").get_attribute("data-call")
            await expect(page.locator("#form-call")).to_contain_text(str(second_call))
            await form.locator("select[name=type]").select_option("fire.structure")
            await form.locator("input[name=address]").press_sequentially("Städtle")
            await page.locator("#suggestions button").first.click()
            await form.locator("button[type=submit]").click()
            await expect(page.locator(f"#duplicates li[data-number='{number}']")).to_be_visible()
            await page.keyboard.press("Alt+Y")
            await expect(page.locator("#call-attached")).to_contain_text(number)

            # The second caller, once answered, is handed on to another extension, then
            # called back.
            await expect(page.locator(f"#call-actions[data-call='{second_call}']")).to_be_attached(
                timeout=20_000)
            await page.fill("#call-actions input[name=target]", "1002")
            await page.click("#transfer")
            await expect(page.locator("#action-done")).to_have_text("transferred to 1002")
            call_back = page.locator("#call-back")
            await expect(call_back).to_have_text("Call +4237775002 back", timeout=15_000)
            await call_back.click()
            await expect(page.locator("#action-done")).to_have_text("calling +4237775002 back")

            await page.close()
            assert problems == []

            async with map_engine.connect() as conn:
                linked = await conn.execute(
                    text(
                        "SELECT i.number, i.caller_phone, i.address FROM incident_calls c "
                        "JOIN incidents i ON i.id = c.incident_id WHERE c.call_id = :c"
                    ),
                    {"c": call_id},
                )
                [(saved_number, phone, address)] = linked.all()
            assert (saved_number, phone) == (number, "+4237775001")
            assert "Städtle" in address
            async with map_engine.connect() as conn:
                both = await conn.execute(
                    text("SELECT i.number FROM incident_calls c JOIN incidents i"
                         " ON i.id = c.incident_id WHERE c.call_id = :c"), {"c": second_call})
                assert [r.number for r in both] == [number]
                assert await conn.scalar(text("SELECT count(*) FROM incidents")) == 1
                transferred = await conn.scalar(
                    text("SELECT transfer_target FROM calls WHERE id = :c"), {"c": second_call})
                assert "1002" in str(transferred)
                called_back = await conn.scalar(
                    text("SELECT count(*) FROM calls WHERE kind = 'outbound' AND number LIKE :n"),
                    {"n": "%4237775002"})
                assert called_back == 1
    finally:
        await sim.stop()


async def test_the_field_terminal_gets_its_assignment_acknowledges_and_reports(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    async with serve(map_url) as app:
        crew = await b.crew(app.http, map_engine)
        board = (await app.http.get("/api/v1/units/board", headers=crew.dispatcher)).json()
        unit = sorted(u["id"] for u in board["units"] if u["status"] == "available")[0]
        token = await builders.device(map_engine, unit)
        lon, lat = b.VADUZ_CENTRE

        context = await browser.new_context(
            geolocation={"latitude": lat, "longitude": lon, "accuracy": 8},
            permissions=["geolocation"],
        )
        page = await context.new_page()
        problems = watch(page)
        await page.goto(f"{app.base_url}/app/")
        await page.fill("input[name=device_token]", token)
        await page.click("#device-sign-in button[type=submit]")
        await expect(page.locator("#unit-link")).to_have_attribute("data-state", "live")
        await expect(page.locator("#unit-status")).to_have_attribute("data-status", "available")
        await expect(page.locator("#no-assignment")).to_have_text("暂无任务")

        # The device's GPS reaches the dispatchers' board.
        async def positioned() -> bool:
            units = (await app.http.get("/api/v1/units/board", headers=crew.dispatcher)).json()
            return any(u["id"] == unit and u["position"] for u in units["units"])

        for _ in range(300):
            if await positioned():
                break
            await asyncio.sleep(0.05)
        assert await positioned()

        incident = await b.fire(app.http, crew, east=0.01)
        number, incident_id = incident["number"], incident["id"]
        assigned = await app.http.post(
            f"/api/v1/incidents/{incident_id}/assignments",
            json={"unit_ids": [unit]},
            headers=crew.dispatcher,
        )
        assert assigned.status_code == 201, assigned.text
        assignment = page.locator("#assignment")
        await expect(assignment).to_have_attribute("data-incident", number)
        await expect(page.locator("#route")).to_contain_text("公里")
        # the route on the terminal's map as the routing drew it, and the way to navigate it
        route_map = page.locator("#route-map")
        await expect(route_map).to_have_attribute("data-ready", "true", timeout=30_000)
        drawn = int(await route_map.get_attribute("data-route") or 0)
        assert drawn > 1
        href = await page.locator("#navigate").get_attribute("href") or ""
        assert href.startswith("geo:")
        assert href.endswith(f"({number})")
        await page.locator("#terminal").screenshot(
            path=str(SHOTS / "field-terminal-assignment.zh-CN.png"))

        await page.keyboard.press("Alt+K")  # the keys of a vehicle's keyboard: acknowledge
        await expect(page.locator("#acknowledged")).to_be_visible()
        await page.keyboard.press("Alt+1")  # the first status button: en route
        await expect(page.locator("#unit-status")).to_have_attribute("data-status", "en_route")
        units = (await app.http.get("/api/v1/units/board", headers=crew.dispatcher)).json()
        mine = next(u for u in units["units"] if u["id"] == unit)
        assert mine["status"] == "en_route"
        assert mine["acknowledged_at"] is not None

        # The network gone, the terminal opens again from its own files, knows its unit and
        # its assignment, keeps the status pressed, and sends it when the network is back.
        await page.evaluate("navigator.serviceWorker.ready")
        await context.set_offline(True)
        await page.reload()
        await expect(page.locator("#terminal")).to_be_visible()
        await expect(page.locator("#unit-link")).not_to_have_attribute("data-state", "live")
        await page.keyboard.press("Alt+2")  # on scene
        await expect(page.locator("#unit-link")).to_contain_text("条待发送")  # and its GPS fixes
        await context.set_offline(False)
        await expect(page.locator("#unit-link")).to_have_attribute(
            "data-state", "live", timeout=20_000)
        await expect(page.locator("#unit-status")).to_have_attribute("data-status", "on_scene")
        await expect(page.locator("#assignment")).to_have_attribute("data-incident", number)
        unit_now = await app.http.get(f"/api/v1/units/{unit}", headers=crew.dispatcher)
        assert unit_now.json()["status"] == "on_scene"

        await context.close()
        # While offline, the browser reports each refused connection as a console error.
        assert [p for p in problems if "ERR_INTERNET_DISCONNECTED" not in p
                and "WebSocket" not in p] == []


async def test_the_leader_board_shows_the_picture_and_follows_it_live(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    async with serve(map_url) as app:
        crew = await b.crew(app.http, map_engine)
        board = (await app.http.get("/api/v1/units/board", headers=crew.dispatcher)).json()
        available = sum(1 for u in board["units"] if u["status"] == "available")
        page = await browser.new_page()
        problems = watch(page)
        await sign_in(page, app.base_url, "lead1", await builders.totp_code(map_engine, "lead1"))
        await expect(page.locator("#open-count")).to_have_text("0")
        await expect(page.locator("#available-count")).to_have_text(str(available))
        # Units available by type, the types named in the page's language (Chinese here).
        kinds = {
            u["unit_type_names"]["zh-CN"] for u in board["units"] if u["status"] == "available"
        }
        await expect(page.locator("#available-by-type li")).to_have_count(len(kinds))
        for kind in kinds:
            await expect(page.locator(f"#available-by-type li[data-key='{kind}']")).to_have_count(1)
        await expect(page.locator("#targets-chart canvas")).to_have_count(1)
        await expect(page.locator("#command")).to_have_count(0)  # leaders do not dispatch

        await b.fire(app.http, crew)
        await expect(page.locator("#open-count")).to_have_text("1")  # without a reload
        await expect(page.locator("#by-type li")).to_have_count(1)
        await page.close()
        assert problems == []


async def test_an_administrator_manages_people_and_terminals_and_a_supervisor_unlocks(
    browser: Browser, map_url: str, map_engine: AsyncEngine
) -> None:
    await b.seeded(map_engine)
    async with serve(map_url) as live:
        await _administration(browser, live, map_engine)


async def _administration(browser: Browser, live: LiveApp, engine: AsyncEngine) -> None:
    await builders.user(engine, "admin1", "admin")
    await builders.user(engine, "sup1", "supervisor")
    await b.add_unit(engine, "E12", "engine")
    page = await browser.new_page()
    problems = watch(page)
    await sign_in(page, live.base_url, "admin1", await builders.totp_code(engine, "admin1"))

    # A new call-taker, then a dispatcher as well.
    add = page.locator("#add-user")
    await add.locator("input[name=new-username]").fill("ct7")
    await add.locator("input[name=new-display-name]").fill("Li Hua")
    await add.locator("input[name=new-password]").fill("a long enough passphrase 7")
    await add.locator("button[type=submit]").click()
    await expect(page.locator("#admin-done")).to_have_text("已添加 ct7")
    row = page.locator("#users tr[data-user='ct7']")
    await row.locator("select").select_option(["call_taker", "dispatcher"])
    await row.locator("button.save-roles").click()
    await expect(page.locator("#admin-done")).to_have_text("已保存 ct7 的角色")
    # A bad password is refused in the screen's language, and nothing changes.
    await row.locator("input[type=password]").fill("short")
    await row.locator("button.reset").click()
    await expect(page.locator("#admin [role=alert]")).to_have_attribute(
        "data-code", "user.password_short")
    assert [p for p in problems if "422" not in p] == []
    problems.clear()  # the browser reports the refused request (422) as a console error

    # The unit's terminal gets a token, shown once; a phone's tracker is bound to the unit.
    await page.fill("#issue-token input[name=device]", "E12")
    await page.click("#issue-token button[type=submit]")
    token = (await page.locator("#issued-token code").inner_text()).strip()
    assert len(token) > 20
    await page.fill("#bind-tracker input[name=device-id]", "phone-4711")
    await page.fill("#bind-tracker input[name=unit-id]", "E12")
    await page.click("#bind-tracker button[type=submit]")
    await expect(page.locator("#bindings li[data-device='phone-4711']")).to_contain_text("E12")

    async with engine.connect() as conn:
        roles = await conn.scalar(text("SELECT roles FROM users WHERE username = 'ct7'"))
    assert sorted(roles) == ["call_taker", "dispatcher"]
    terminal = await live.http.get("/api/v1/units/E12/assignment",
                                   headers={"Authorization": f"Bearer {token}"})
    assert terminal.status_code == 200, terminal.text
    await page.locator("#tokens tr[data-device='E12'] button.revoke").click()
    await expect(page.locator("#tokens tr[data-device='E12'] .state")).to_contain_text("吊销")
    revoked = await live.http.get("/api/v1/units/E12/assignment",
                                  headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401
    await page.close()
    assert problems == []

    # ct7 locked out (too many wrong passwords): a supervisor sees it and unlocks, and may
    # neither change roles nor issue tokens (those are not on the screen).
    for _ in range(5):
        await live.http.post("/api/v1/auth/login",
                             json={"username": "ct7", "password": "guess guess"})
    page = await browser.new_page()
    problems = watch(page)
    await sign_in(page, live.base_url, "sup1", await builders.totp_code(engine, "sup1"))
    row = page.locator("#users tr[data-user='ct7']")
    await expect(row.locator(".state")).to_contain_text("锁定至")
    await expect(page.locator("#issue-token")).to_have_count(0)
    await expect(row.locator("button.save-roles")).to_have_count(0)
    await row.locator("button.unlock").click()
    await expect(row.locator(".state")).to_have_text("正常")
    right = {"username": "ct7", "password": "a long enough passphrase 7"}
    assert (await live.http.post("/api/v1/auth/login", json=right)).status_code == 200
    await page.close()
    assert problems == []
