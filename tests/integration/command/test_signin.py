"""The attacks on sign-in, reproduced over real HTTP: a stranger locking a dispatcher out, a
flood of failed sign-ins, guessing with unknown names, weak passwords, the second factor
missing, wrong or replayed, and a reset password used without changing it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from command.auth import service, totp
from command.tables import audit_log, tokens
from tests.support import builders
from tests.support.live import LiveApp, serve


@asynccontextmanager
async def from_address(live: LiveApp, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from ``address`` (any 127.x.y.z is this machine)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=live.base_url, transport=transport, timeout=30) as c:
        yield c


def _body(username: str, password: str, code: str | None = None) -> dict[str, str]:
    body = {"username": username, "password": password}
    if code is not None:
        body["totp"] = code
    return body


async def test_a_stranger_cannot_lock_the_dispatcher_out(live: LiveApp) -> None:
    await builders.user(live.container.engine, "disp", "dispatcher")
    async with from_address(live, "127.0.0.2") as stranger:
        answers = [
            await stranger.post("/api/v1/auth/login", json=_body("disp", "guess guess"))
            for _ in range(8)
        ]
    assert [r.status_code for r in answers] == [401] * 5 + [429] * 3
    assert answers[-1].json()["code"] == "auth.throttled"
    assert int(answers[-1].headers["Retry-After"]) > 0
    async with from_address(live, "127.0.0.3") as console:
        r = await console.post("/api/v1/auth/login", json=_body("disp", builders.PASSWORD))
    assert r.status_code == 200, r.text


async def test_unknown_and_existing_accounts_answer_alike(live: LiveApp) -> None:
    await builders.user(live.container.engine, "known", "call_taker")
    seen = {}
    waits = {}
    for name in ("known", "nobody-here"):
        answers = [
            await live.http.post("/api/v1/auth/login", json=_body(name, "guess guess"))
            for _ in range(6)
        ]
        # the wait left may have ticked down by a second between the two names
        seen[name] = [(r.status_code, r.json()["code"],
                       re.sub(r"\d+ s\b", "N s", r.json()["message"]), sorted(r.json()["params"]))
                      for r in answers]
        waits[name] = answers[-1].json()["params"]["retry_after_s"]
    assert seen["known"] == seen["nobody-here"]
    assert abs(waits["known"] - waits["nobody-here"]) <= 1
    assert seen["known"][0][:3] == (401, "auth.credentials_wrong", "wrong username or password")
    assert seen["known"][-1][:2] == (429, "auth.throttled")


async def test_a_flood_from_one_address_waits(database_url: str) -> None:
    async with serve(database_url, login_source_failures=10) as live:
        async with from_address(live, "127.0.0.4") as flood:
            answers = [
                await flood.post("/api/v1/auth/login", json=_body(f"user{n}", "guess guess"))
                for n in range(12)  # every name once: only the address's counter adds up
            ]
        assert [r.status_code for r in answers] == [401] * 10 + [429] * 2
        wait = answers[-1].json()["params"]["retry_after_s"]
        assert 590 <= wait <= 600  # the rest of the address's ten-minute window
        assert answers[-1].headers["Retry-After"] == str(wait)
        # Another address is not held up.
        assert (await live.http.post("/api/v1/auth/login", json=_body("u", "x"))).status_code == 401


async def test_a_supervisor_unlocks_and_it_is_audited(live: LiveApp) -> None:
    engine = live.container.engine
    await builders.user(engine, "locked1", "call_taker")
    for _ in range(5):
        await live.http.post("/api/v1/auth/login", json=_body("locked1", "guess guess"))
    r = await live.http.post("/api/v1/auth/login", json=_body("locked1", builders.PASSWORD))
    assert r.status_code == 429
    sup = await builders.signed_in(live.http, engine, "sup1", "supervisor")
    users = (await live.http.get("/api/v1/users", headers=sup)).json()
    assert next(u for u in users if u["username"] == "locked1")["locked_until"] is not None
    dispatcher = await builders.signed_in(live.http, engine, "disp9", "dispatcher")
    refused = await live.http.post("/api/v1/users/locked1/unlock", headers=dispatcher)
    assert refused.status_code == 403
    r = await live.http.post("/api/v1/users/locked1/unlock", headers=sup)
    assert r.status_code == 204
    r = await live.http.post("/api/v1/auth/login", json=_body("locked1", builders.PASSWORD))
    assert r.status_code == 200
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(audit_log).where(audit_log.c.action == "user.unlock"))
        ).one()
    assert (row.actor, row.object_id, row.result) == ("user:sup1", "locked1", "ok")
    r = await live.http.post("/api/v1/users/nobody/unlock", headers=sup)
    assert r.status_code == 404
    assert r.json()["code"] == "user.unknown"


async def test_hashing_beyond_its_bound_is_refused_not_queued_on_the_loop(
    database_url: str,
) -> None:
    async with serve(database_url, auth_hash_concurrency=1, auth_hash_wait_s=0.001) as live:
        answers = await asyncio.gather(
            *(
                live.http.post("/api/v1/auth/login", json=_body(f"n{n}", "guess guess"))
                for n in range(12)
            )
        )
        codes = [r.status_code for r in answers]
        assert 503 in codes, codes
        assert 401 in codes, codes
        busy = next(r for r in answers if r.status_code == 503)
        assert busy.json()["code"] == "auth.busy"
        assert busy.headers["Retry-After"] == "1"


async def test_weak_passwords_are_refused(live: LiveApp) -> None:
    admin = await builders.signed_in(live.http, live.container.engine, "root9", "admin")
    for password, code in (
        ("12345678", "user.password_common"),
        ("password", "user.password_common"),
        ("Password", "user.password_common"),
        ("kowalski", "user.password_has_name"),
        ("my Kowalski pass", "user.password_has_name"),
        ("short", "request.invalid"),
        ("x" * 129, "user.password_long"),
    ):
        r = await live.http.post(
            "/api/v1/users",
            json={"username": "kowalski", "password": password, "roles": ["dispatcher"]},
            headers=admin,
        )
        assert (r.status_code, r.json()["code"]) == (422, code), password
    r = await live.http.post(
        "/api/v1/users",
        json={"username": "kowalski", "password": "tram stop at nine", "roles": ["dispatcher"]},
        headers=admin,
    )
    assert r.status_code == 201


async def test_the_second_factor_missing_wrong_or_replayed_is_refused(live: LiveApp) -> None:
    engine = live.container.engine
    await builders.user(engine, "boss", "admin")
    now = datetime.now(UTC)
    cases = [
        (None, "auth.totp_required"),
        (
            "000000" if totp.code_at(builders.TOTP_SECRET, now) != "000000" else "111111",
            "auth.totp_wrong",
        ),
    ]
    for code, expected in cases:
        r = await live.http.post("/api/v1/auth/login", json=_body("boss", builders.PASSWORD, code))
        assert (r.status_code, r.json()["code"]) == (401, expected)
    right = await builders.totp_code(engine, "boss")
    r = await live.http.post("/api/v1/auth/login", json=_body("boss", builders.PASSWORD, right))
    assert r.status_code == 200
    assert r.json()["limited_to"] is None
    r = await live.http.post("/api/v1/auth/login", json=_body("boss", builders.PASSWORD, right))
    assert (r.status_code, r.json()["code"]) == (401, "auth.totp_replayed")
    # The wrong password with the right code is still the wrong password.
    fresh = await builders.totp_code(engine, "boss")
    r = await live.http.post("/api/v1/auth/login", json=_body("boss", "guess guess", fresh))
    assert r.json()["code"] == "auth.credentials_wrong"
    # Each refusal counts: the fifth since the last success locks the account from here.
    for _ in range(3):
        r = await live.http.post("/api/v1/auth/login", json=_body("boss", builders.PASSWORD))
        assert r.json()["code"] == "auth.totp_required"
    r = await live.http.post("/api/v1/auth/login", json=_body("boss", builders.PASSWORD, fresh))
    assert r.status_code == 429


async def test_enrolment_is_required_for_a_supervisor_and_recovery_codes_work_once(
    live: LiveApp,
) -> None:
    engine = live.container.engine
    async with engine.begin() as conn:  # a supervisor without a second factor yet
        await service.create_user(conn, "newsup", builders.PASSWORD, "supervisor")
    r = await live.http.post("/api/v1/auth/login", json=_body("newsup", builders.PASSWORD))
    assert r.status_code == 200
    assert r.json()["limited_to"] == "auth.totp_enrolment_required"
    limited = {"Authorization": f"Bearer {r.json()['token']}"}
    refused = await live.http.get("/api/v1/users", headers=limited)
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.totp_enrolment_required")
    enrolment = (await live.http.post("/api/v1/auth/totp/enrol", headers=limited)).json()
    assert enrolment["uri"].startswith("otpauth://totp/CAD:newsup?secret=")
    wrong = await live.http.post(
        "/api/v1/auth/totp/confirm", json={"code": "12345"}, headers=limited
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "auth.totp_confirm_wrong")
    code = totp.code_at(enrolment["secret"], datetime.now(UTC))
    r = await live.http.post("/api/v1/auth/totp/confirm", json={"code": code}, headers=limited)
    assert r.status_code == 200
    recovery = r.json()["recovery_codes"]
    assert len(set(recovery)) == 10
    assert (await live.http.get("/api/v1/users", headers=limited)).status_code == 200
    # A recovery code instead of the one-time code, once.
    r = await live.http.post(
        "/api/v1/auth/login", json=_body("newsup", builders.PASSWORD, recovery[0].lower())
    )
    assert r.status_code == 200
    assert r.json()["limited_to"] is None
    r = await live.http.post(
        "/api/v1/auth/login", json=_body("newsup", builders.PASSWORD, recovery[0])
    )
    assert (r.status_code, r.json()["code"]) == (401, "auth.totp_wrong")
    # A second enrolment over a factor in force is refused.
    again = await live.http.post("/api/v1/auth/totp/enrol", headers=limited)
    assert (again.status_code, again.json()["code"]) == (409, "auth.totp_enrolled")


async def test_anyone_may_enrol_and_then_needs_the_factor(live: LiveApp) -> None:
    engine = live.container.engine
    headers = await builders.signed_in(live.http, engine, "ct1", "call_taker")
    secret = (await live.http.post("/api/v1/auth/totp/enrol", headers=headers)).json()["secret"]
    code = totp.code_at(secret, datetime.now(UTC))
    r = await live.http.post("/api/v1/auth/totp/confirm", json={"code": code}, headers=headers)
    assert r.status_code == 200
    r = await live.http.post("/api/v1/auth/login", json=_body("ct1", builders.PASSWORD))
    assert r.json()["code"] == "auth.totp_required"


async def test_a_device_token_is_its_own_factor(live: LiveApp) -> None:
    token = await builders.device(live.container.engine, "gateway-1", "intake")
    r = await live.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.json()["kind"] == "device"


async def test_a_reset_password_must_be_changed_first(live: LiveApp) -> None:
    engine = live.container.engine
    admin = await builders.signed_in(live.http, engine, "root8", "admin")
    old_session = await builders.signed_in(live.http, engine, "disp8", "dispatcher")
    r = await live.http.post(
        "/api/v1/users/disp8/password", json={"password": "12345678"}, headers=admin
    )
    assert r.json()["code"] == "user.password_common"
    r = await live.http.post(
        "/api/v1/users/disp8/password", json={"password": "temporary lantern 4"}, headers=admin
    )
    assert r.status_code == 204
    # The reset ended the user's sessions.
    assert (await live.http.get("/api/v1/auth/me", headers=old_session)).status_code == 401
    r = await live.http.post("/api/v1/auth/login", json=_body("disp8", "temporary lantern 4"))
    assert r.json()["limited_to"] == "auth.password_change_required"
    limited = {"Authorization": f"Bearer {r.json()['token']}"}
    refused = await live.http.get("/api/v1/incidents", headers=limited)
    assert (refused.status_code, refused.json()["code"]) == (403, "auth.password_change_required")
    same = await live.http.post(
        "/api/v1/auth/password",
        json={"current": "temporary lantern 4", "new": "disp8 forever"},
        headers=limited,
    )
    assert same.json()["code"] == "user.password_has_name"
    wrong = await live.http.post(
        "/api/v1/auth/password",
        json={"current": "not it at all", "new": "quiet harbour lights"},
        headers=limited,
    )
    assert wrong.json()["code"] == "auth.password_current_wrong"
    r = await live.http.post(
        "/api/v1/auth/password",
        json={"current": "temporary lantern 4", "new": "quiet harbour lights"},
        headers=limited,
    )
    assert r.status_code == 204
    assert (await live.http.get("/api/v1/incidents", headers=limited)).status_code == 200
    r = await live.http.post("/api/v1/auth/login", json=_body("disp8", "quiet harbour lights"))
    assert r.status_code == 200
    assert r.json()["limited_to"] is None


async def test_changing_ones_password_ends_the_other_sessions(live: LiveApp) -> None:
    engine = live.container.engine
    first = await builders.signed_in(live.http, engine, "ct2", "call_taker")
    r = await live.http.post("/api/v1/auth/login", json=_body("ct2", builders.PASSWORD))
    second = {"Authorization": f"Bearer {r.json()['token']}"}
    r = await live.http.post(
        "/api/v1/auth/password",
        json={"current": builders.PASSWORD, "new": "a brand new phrase"},
        headers=second,
    )
    assert r.status_code == 204
    assert (await live.http.get("/api/v1/auth/me", headers=first)).status_code == 401
    assert (await live.http.get("/api/v1/auth/me", headers=second)).status_code == 200
    async with engine.connect() as conn:
        live_tokens = await conn.scalar(
            select(func.count()).select_from(tokens).where(tokens.c.revoked_at.is_(None))
        )
    assert live_tokens == 1


async def test_guessing_the_current_password_with_a_stolen_session_waits(live: LiveApp) -> None:
    headers = await builders.signed_in(live.http, live.container.engine, "ct3", "call_taker")
    guess = {"current": "not the password", "new": "a brand new phrase"}
    answers = [
        await live.http.post("/api/v1/auth/password", json=guess, headers=headers) for _ in range(6)
    ]
    assert [r.json()["code"] for r in answers] == ["auth.password_current_wrong"] * 5 + [
        "auth.throttled"
    ]
    assert answers[-1].status_code == 429
