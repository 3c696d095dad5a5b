"""Every change and its audit row in one transaction; the catch-all audit only for refusals.

Test-only triggers, installed as the database's owner, show it from inside the database: one
notes the transaction of every committed write to the audit log and to the changed tables
(``tx_seen``), the other makes the audit row of one action fail as a full disk would. A change
whose row fails is answered 503 and leaves no committed write; a change that succeeds leaves one
audit row, in the transaction of its change. Every state-changing route of the app (walked, so a
new one is checked too) owes that row by its role check; the fixture that serves the app fails
any test whose successful change answered without it (``tests.support.live``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.routing import BaseRoute

from command import request_audit
from command.app import create_app
from command.settings import Settings
from tests.support import builders, dispatch_builders, plan_builders
from tests.support.database import PgServer
from tests.support.live import LiveApp
from tests.support.terminal import connected, frame

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Signing in has no caller yet: it is audited in its own transaction (command.auth.signin).
# OsmAnd trackers send positions, which are not audited one by one (as a terminal's).
UNGUARDED = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/osmand")}
INCIDENT = {"type": "medical", "lon": 9.52, "lat": 47.14, "summary": "collapsed in the street"}

_SEEN = """
CREATE TABLE tx_seen (id bigserial PRIMARY KEY, txid bigint NOT NULL, tbl text NOT NULL,
                      action text);
GRANT SELECT ON tx_seen TO PUBLIC;
CREATE FUNCTION note_tx() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  INSERT INTO tx_seen (txid, tbl) VALUES (txid_current(), TG_TABLE_NAME);
  RETURN NULL;
END $$;
CREATE FUNCTION note_audit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  INSERT INTO tx_seen (txid, tbl, action)
  VALUES (txid_current(), 'audit_log', NEW.action || ' ' || NEW.result);
  RETURN NULL;
END $$;
CREATE TRIGGER note_audit AFTER INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION note_audit();
"""
_SEEN_ON = (
    "CREATE TRIGGER note_tx AFTER INSERT OR UPDATE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION note_tx()"
)
# A full disk, for the audit row of one action only: the refusal the catch-all writes still goes.
_FAIL = """
CREATE FUNCTION audit_fails() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.action = current_setting('test.failing_action', true) AND NEW.result = 'ok' THEN
    RAISE EXCEPTION 'no space left for the audit row' USING ERRCODE = '53100';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER audit_fails BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_fails();
"""
CHANGED = ("events", "tokens", "users")


@dataclass
class Call:
    """One successful change: the request, and the audit action it owes."""

    method: str
    path: str
    headers: dict[str, str]
    action: str
    json: Any = None
    #: the tables it writes (its transaction must be the audit row's)
    writes: Sequence[str] = ("events",)
    status: int = 200
    extra: dict[str, Any] = field(default_factory=dict)


Prepare = Callable[[LiveApp, AsyncEngine], Awaitable[Call]]


async def _incident(app: LiveApp, headers: dict[str, str]) -> dict[str, Any]:
    r = await app.http.post("/api/v1/incidents", headers=headers, json=INCIDENT)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()["incident"]
    return body


async def _create(app: LiveApp, engine: AsyncEngine) -> Call:
    ct = await builders.signed_in(app.http, engine, "ct1", "call_taker")
    return Call("POST", "/api/v1/incidents", ct, "POST /api/v1/incidents", INCIDENT, status=201)


async def _note(app: LiveApp, engine: AsyncEngine) -> Call:
    ct = await builders.signed_in(app.http, engine, "ct1", "call_taker")
    inc = await _incident(app, ct)
    path = f"/api/v1/incidents/{inc['id']}/narrative"
    return Call(
        "POST", path, ct, "POST /api/v1/incidents/{incident_id}/narrative",
        {"text": "caller says the door is open"}, status=201,
    )


async def _priority(app: LiveApp, engine: AsyncEngine) -> Call:
    ct = await builders.signed_in(app.http, engine, "ct1", "call_taker")
    inc = await _incident(app, ct)
    return Call(
        "POST", f"/api/v1/incidents/{inc['id']}/priority", ct,
        "POST /api/v1/incidents/{incident_id}/priority",
        {"priority": 1, "version": inc["version"]},
    )


async def _assign(app: LiveApp, engine: AsyncEngine) -> Call:
    crew = await dispatch_builders.crew(app.http, engine)
    await dispatch_builders.add_unit(engine, "E7", "engine", at=(9.52, 47.15))
    inc = await _incident(app, crew.call_taker)
    return Call(
        "POST", f"/api/v1/incidents/{inc['id']}/assignments", crew.dispatcher,
        "POST /api/v1/incidents/{incident_id}/assignments", {"unit_ids": ["E7"]}, status=201,
    )


async def _message(app: LiveApp, engine: AsyncEngine) -> Call:
    disp = await builders.signed_in(app.http, engine, "disp1", "dispatcher")
    await dispatch_builders.add_unit(engine, "E8", "engine")
    return Call(
        "POST", "/api/v1/units/E8/messages", disp, "POST /api/v1/units/{unit_id}/messages",
        {"text": "return to station"},
    )


async def _unit_status(app: LiveApp, engine: AsyncEngine) -> Call:
    await dispatch_builders.add_unit(engine, "E9", "engine")
    terminal = await dispatch_builders.terminal(engine, "E9")
    return Call(
        "POST", "/api/v1/units/E9/status", terminal, "POST /api/v1/units/{unit_id}/status",
        {"status": "out_of_service", "reason": "tyre"},
    )


async def _plan(app: LiveApp, engine: AsyncEngine) -> Call:
    sup = await builders.signed_in(app.http, engine, "sup1", "supervisor")
    return Call(
        "POST", "/api/v1/plans", sup, "POST /api/v1/plans",
        {"yaml": plan_builders.COLLISION_YAML}, status=201,
    )


async def _consultation(app: LiveApp, engine: AsyncEngine) -> Call:
    ct = await builders.signed_in(app.http, engine, "ct1", "call_taker")
    lead = await builders.signed_in(app.http, engine, "lead1", "leader")
    inc = await _incident(app, ct)
    return Call(
        "POST", "/api/v1/consultations", lead, "POST /api/v1/consultations",
        {"title": "dam overflow", "incident_id": inc["id"]}, status=201,
    )


async def _consultation_invite(app: LiveApp, engine: AsyncEngine) -> Call:
    lead = await builders.signed_in(app.http, engine, "lead1", "leader")
    await builders.user(engine, "exp1", "dispatcher")
    r = await app.http.post("/api/v1/consultations", headers=lead, json={"title": "alone"})
    assert r.status_code == 201, r.text
    cid = r.json()["consultation"]["id"]
    return Call(
        "POST", f"/api/v1/consultations/{cid}/invitations", lead,
        "POST /api/v1/consultations/{consultation_id}/invitations",
        {"users": ["exp1"], "roles": ["supervisor"]},
    )


async def _intake(app: LiveApp, engine: AsyncEngine) -> Call:
    gateway = {"Authorization": f"Bearer {await builders.device(engine, 'sms-gw', 'intake')}"}
    return Call(
        "POST", "/api/v1/telephony/intake/sms", gateway, "POST /api/v1/telephony/intake/sms",
        {"sender": "+4237776000", "text": "Fire, cannot speak", "external_id": "m-1"},
        status=201,
    )


async def _location(app: LiveApp, engine: AsyncEngine) -> Call:
    gateway = {"Authorization": f"Bearer {await builders.device(engine, 'aml-gw', 'intake')}"}
    return Call(
        "POST", "/api/v1/telephony/locations", gateway, "POST /api/v1/telephony/locations",
        {"number": "+4237775000", "lat": 47.14, "lon": 9.52, "accuracy_m": 30, "source": "aml"},
        status=201,
    )


async def _logout(app: LiveApp, engine: AsyncEngine) -> Call:
    ct = await builders.signed_in(app.http, engine, "ct1", "call_taker")
    return Call(
        "POST", "/api/v1/auth/logout", ct, "POST /api/v1/auth/logout", writes=("tokens",),
        status=204,
    )


async def _disable(app: LiveApp, engine: AsyncEngine) -> Call:
    # A handler that audits its change itself (the account helper): that row, and no other.
    admin = await builders.signed_in(app.http, engine, "root", "admin")
    await builders.user(engine, "ct9", "call_taker")
    return Call(
        "POST", "/api/v1/users/ct9/disable", admin, "user.disable", writes=("users",),
        status=204, extra={"not": "POST /api/v1/users/{username}/disable"},
    )


CASES: dict[str, Prepare] = {
    "incident": _create,
    "narrative": _note,
    "priority": _priority,
    "assignment": _assign,
    "unit message": _message,
    "unit status": _unit_status,
    "plan import": _plan,
    "consultation": _consultation,
    "consultation invitation": _consultation_invite,
    "sms intake": _intake,
    "caller location": _location,
    "sign out": _logout,
    "account (own audit)": _disable,
}


@pytest.fixture
async def owner(pg_server: PgServer, map_url: str) -> AsyncIterator[AsyncEngine]:
    """The map database as its owner, with the transaction-noting triggers in place."""
    engine = create_async_engine(pg_server.admin_url(str(make_url(map_url).database)))
    async with engine.begin() as conn:
        await conn.execute(text("SELECT 1"))
        raw = await conn.get_raw_connection()
        await raw.driver_connection.execute(_SEEN)  # type: ignore[union-attr]
        await raw.driver_connection.execute(_FAIL)  # type: ignore[union-attr]
        for table in CHANGED:
            await conn.execute(text(_SEEN_ON.format(table=table)))
    yield engine
    await engine.dispose()


async def _failing(owner: AsyncEngine, action: str | None) -> None:
    """Make the audit row of ``action`` fail in every new session (None: none fails)."""
    name = str(make_url(owner.url).database)
    async with owner.begin() as conn:
        setting = "RESET test.failing_action" if action is None else "SET test.failing_action"
        value = "" if action is None else f" = '{action}'"
        await conn.execute(text(f'ALTER DATABASE "{name}" {setting}{value}'))


async def _seen_after(owner: AsyncEngine, after: int) -> list[tuple[int, str, str | None]]:
    async with owner.connect() as conn:
        rows = await conn.execute(
            text("SELECT txid, tbl, action FROM tx_seen WHERE id > :a ORDER BY id"), {"a": after}
        )
        return [(r.txid, r.tbl, r.action) for r in rows]


async def _mark(owner: AsyncEngine) -> int:
    async with owner.connect() as conn:
        return int(await conn.scalar(text("SELECT coalesce(max(id), 0) FROM tx_seen")))


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_change_commits_with_its_one_audit_row(
    app: LiveApp, map_engine: AsyncEngine, owner: AsyncEngine, case: str
) -> None:
    call = await CASES[case](app, map_engine)
    mark = await _mark(owner)
    r = await app.http.request(call.method, call.path, headers=call.headers, json=call.json)
    assert r.status_code == call.status, r.text
    seen = await _seen_after(owner, mark)
    rows = [(txid, action) for txid, tbl, action in seen if tbl == "audit_log"]
    assert [a for _, a in rows] == [f"{call.action} ok"], seen
    changes = {txid for txid, tbl, _ in seen if tbl in call.writes}
    assert changes, f"{case} wrote none of {call.writes}: {seen}"
    assert rows[0][0] in changes, f"the audit row is not in the change's transaction: {seen}"
    if "not" in call.extra:
        assert all(call.extra["not"] not in str(a) for _, _, a in seen)


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_change_whose_audit_row_fails_is_not_committed(
    app: LiveApp, map_engine: AsyncEngine, owner: AsyncEngine, case: str
) -> None:
    call = await CASES[case](app, map_engine)
    await _failing(owner, call.action)
    try:
        await app.container.engine.dispose()  # new sessions read the failing setting
        mark = await _mark(owner)
        r = await app.http.request(call.method, call.path, headers=call.headers, json=call.json)
    finally:
        await _failing(owner, None)
        await app.container.engine.dispose()
    assert (r.status_code, r.json()["code"]) == (503, "database.unavailable"), r.text
    seen = await _seen_after(owner, mark)
    assert not [s for s in seen if s[1] in call.writes], f"committed without its row: {seen}"
    # The refusal is recorded by the catch-all, in a transaction of its own.
    route = call.extra.get("not", call.action)  # the request, as the catch-all names it
    assert [a for _, tbl, a in seen if tbl == "audit_log"] == [f"{route} failed: 503"]


async def test_the_catch_all_writes_nothing_for_a_success_and_a_row_for_a_refusal(
    app: LiveApp, map_engine: AsyncEngine, owner: AsyncEngine
) -> None:
    ct = await builders.signed_in(app.http, map_engine, "ct1", "call_taker")
    inc = await _incident(app, ct)
    mark = await _mark(owner)
    # A read sent as POST: no change, no row.
    r = await app.http.post("/api/v1/incidents/duplicates", headers=ct, json=INCIDENT)
    assert r.status_code == 200, r.text
    assert await _seen_after(owner, mark) == []
    # A refused change: nothing committed, the refusal recorded.
    stale = {"priority": 1, "version": inc["version"] + 5}
    r = await app.http.post(f"/api/v1/incidents/{inc['id']}/priority", headers=ct, json=stale)
    assert r.status_code == 409, r.text
    seen = await _seen_after(owner, mark)
    assert [(tbl, a) for _, tbl, a in seen] == [
        ("audit_log", "POST /api/v1/incidents/{incident_id}/priority failed: 409")
    ]


async def test_a_success_without_its_row_is_caught_and_logged(
    app: LiveApp,
    map_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The check the whole suite relies on can fail: a change whose transaction forgot its row
    is logged as an error and listed for the fixture, which then fails the test."""
    ct = await builders.signed_in(app.http, map_engine, "ct1", "call_taker")

    async def forgotten(_: object) -> None:
        return None

    monkeypatch.setattr(request_audit, "write", forgotten)
    with caplog.at_level(logging.ERROR, logger="command.app"):
        r = await app.http.post("/api/v1/incidents", headers=ct, json=INCIDENT)
    assert r.status_code == 201, r.text
    assert app.unaudited == ["POST /api/v1/incidents"]
    assert "POST /api/v1/incidents succeeded without an audit row" in caplog.text
    app.unaudited.clear()  # (else the fixture fails this test, as it should)


async def test_a_terminal_status_commits_with_its_audit_row(
    app: LiveApp, map_engine: AsyncEngine, owner: AsyncEngine
) -> None:
    await dispatch_builders.add_unit(map_engine, "E1", "engine")
    token = await builders.device(map_engine, "E1")
    async with connected(app.ws_url, token) as terminal:
        mark = await _mark(owner)
        answer = await terminal.send(frame("status", status="out_of_service", reason="tyre"))
        assert (answer["type"], answer["duplicate"]) == ("ack", False), answer
        seen = await _seen_after(owner, mark)
    rows = [(txid, a) for txid, tbl, a in seen if tbl == "audit_log"]
    assert [a for _, a in rows] == ["terminal.status ok"], seen
    assert rows[0][0] in {txid for txid, tbl, _ in seen if tbl == "events"}


def _walk(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _walk(inner.routes)
        else:
            yield route


def _expects_audit(route: APIRoute) -> bool:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if getattr(dep.call, "expects_audit", False):
            return True
        stack.extend(dep.dependencies)
    return False


def _changes() -> list[tuple[str, APIRoute]]:
    app = create_app(Settings(ami_enabled=False))
    return [
        (method, route)
        for route in _walk(app.routes)
        if isinstance(route, APIRoute)
        for method in sorted((route.methods or set()) & MUTATING)
    ]


CHANGES = _changes()


def test_the_app_has_changes_to_check() -> None:
    # Far more than the cases above: the walk is what covers a new route.
    assert len(CHANGES) > 3 * len(CASES)
    assert {(m, r.path) for m, r in CHANGES} >= UNGUARDED  # (the exceptions still exist)
    owing = sum(_expects_audit(r) for _, r in CHANGES)
    print(f"state-changing routes checked: {len(CHANGES)}, owing their row by the role check: "
          f"{owing}")


@pytest.mark.parametrize(
    ("method", "route"), CHANGES, ids=[f"{m} {r.path}" for m, r in CHANGES]
)
def test_every_change_owes_its_audit_row(method: str, route: APIRoute) -> None:
    if (method, route.path) in UNGUARDED:
        return
    assert _expects_audit(route), (
        f"{method} {route.path} has no role check: nothing makes it write its audit row"
    )
