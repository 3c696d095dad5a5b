"""Accounts that stay governable, over real HTTP: nobody disables or demotes themselves, the
last active admin stays, enable and role changes work and are audited, and two admins
disabling each other at once leave one admin."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import any_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from command.errors import Conflict
from command.origin import Origin
from command.tables import audit_log, tokens, users
from tests.support import builders
from tests.support.live import LiveApp


async def _state(engine: AsyncEngine, username: str) -> tuple[bool, list[str]]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(users.c.disabled, users.c.roles).where(users.c.username == username)
            )
        ).one()
    return row.disabled, list(row.roles)


async def _audited(engine: AsyncEngine, action: str) -> list[tuple[str, str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(audit_log.c.actor, audit_log.c.object_id, audit_log.c.result)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.id)
        )
    return [(r.actor, r.object_id, r.result) for r in rows]


async def _audit_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(audit_log)) or 0)


async def test_an_admin_cannot_disable_itself(live: LiveApp) -> None:
    engine = live.container.engine
    root = await builders.signed_in(live.http, engine, "root", "admin")
    await builders.user(engine, "other-admin", "admin")
    before = await _audit_rows(engine)
    r = await live.http.post("/api/v1/users/root/disable", headers=root)
    assert r.status_code == 409
    assert r.json()["code"] == "user.disable_self"
    assert await _state(engine, "root") == (False, ["admin"])
    assert (await live.http.get("/api/v1/auth/me", headers=root)).status_code == 200
    assert await _audit_rows(engine) == before + 1  # the refusal, nothing else
    assert await _audited(engine, "POST /api/v1/users/{username}/disable") == [
        ("user:root", "username=root", "failed: 409")
    ]


async def test_an_admin_cannot_take_its_own_admin_role(live: LiveApp) -> None:
    engine = live.container.engine
    root = await builders.signed_in(live.http, engine, "root", "admin,supervisor")
    await builders.user(engine, "other-admin", "admin")
    r = await live.http.put(
        "/api/v1/users/root/roles", json={"roles": ["supervisor"]}, headers=root
    )
    assert r.status_code == 409
    assert r.json()["code"] == "user.demote_self"
    assert await _state(engine, "root") == (False, ["admin", "supervisor"])
    # Its other roles it may change.
    r = await live.http.put(
        "/api/v1/users/root/roles", json={"roles": ["admin", "leader"]}, headers=root
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"username": "root", "roles": ["admin", "leader"]}


async def test_the_last_active_admin_can_be_neither_disabled_nor_demoted(live: LiveApp) -> None:
    engine = live.container.engine
    root = await builders.signed_in(live.http, engine, "root", "admin")
    await builders.user(engine, "second", "admin")
    # While there are two, one may go.
    assert (await live.http.post("/api/v1/users/second/disable", headers=root)).status_code == 204
    assert await _state(engine, "second") == (True, ["admin"])
    # The command line (no signed-in user) is held to the same rule: root is the last one.
    last = await live.container.accounts.users()
    assert [u.username for u in last if "admin" in u.roles and not u.disabled] == ["root"]
    cli = Origin("os:operator", "cli")
    with pytest.raises(Conflict) as refused:
        await live.container.accounts.set_disabled("root", True, cli)
    assert refused.value.code == "user.last_admin"
    with pytest.raises(Conflict) as refused:
        await live.container.accounts.set_roles("root", ["dispatcher"], cli)
    assert refused.value.code == "user.last_admin"
    assert await _state(engine, "root") == (False, ["admin"])
    # Enabled again over the API, the other admin may be demoted after all.
    assert (await live.http.post("/api/v1/users/second/enable", headers=root)).status_code == 204
    assert await _state(engine, "second") == (False, ["admin"])
    r = await live.http.put(
        "/api/v1/users/second/roles", json={"roles": ["dispatcher"]}, headers=root
    )
    assert r.status_code == 200
    assert await _state(engine, "second") == (False, ["dispatcher"])
    assert [a for a, _, _ in await _audited(engine, "user.enable")] == ["user:root"]
    assert [(a, o) for a, o, _ in await _audited(engine, "user.roles")] == [("user:root", "second")]


async def test_a_role_change_reaches_open_sessions_at_once(live: LiveApp) -> None:
    engine = live.container.engine
    root = await builders.signed_in(live.http, engine, "root", "admin")
    anna = await builders.signed_in(live.http, engine, "anna", "supervisor")
    assert (await live.http.get("/api/v1/users", headers=anna)).status_code == 200
    r = await live.http.put("/api/v1/users/anna/roles", json={"roles": ["leader"]}, headers=root)
    assert r.status_code == 200
    assert (await live.http.get("/api/v1/users", headers=anna)).status_code == 403
    me = await live.http.get("/api/v1/auth/me", headers=anna)
    assert me.json()["roles"] == ["leader"]


async def test_bad_role_changes_change_nothing(live: LiveApp) -> None:
    engine = live.container.engine
    root = await builders.signed_in(live.http, engine, "root", "admin")
    await builders.user(engine, "bert", "dispatcher")
    for body, status, code in (
        ({"roles": []}, 422, "request.invalid"),
        ({"roles": ["pilot"]}, 422, "request.invalid"),
        ({"roles": ["intake"]}, 422, "user.role_device_only"),
        ({"roles": ["field_unit"]}, 404, "unit.unknown"),
    ):
        r = await live.http.put("/api/v1/users/bert/roles", json=body, headers=root)
        assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)
    r = await live.http.put("/api/v1/users/nobody/roles", json={"roles": ["leader"]}, headers=root)
    assert (r.status_code, r.json()["code"]) == (404, "user.unknown")
    r = await live.http.post("/api/v1/users/nobody/enable", headers=root)
    assert (r.status_code, r.json()["code"]) == (404, "user.unknown")
    assert await _state(engine, "bert") == (False, ["dispatcher"])
    assert await _audited(engine, "user.roles") == []


async def test_only_admins_govern_accounts(live: LiveApp) -> None:
    engine = live.container.engine
    await builders.user(engine, "root", "admin")
    boss = await builders.signed_in(live.http, engine, "boss", "supervisor")
    assert (await live.http.post("/api/v1/users/root/disable", headers=boss)).status_code == 403
    r = await live.http.put("/api/v1/users/boss/roles", json={"roles": ["admin"]}, headers=boss)
    assert r.status_code == 403
    assert (await live.http.get("/api/v1/devices", headers=boss)).status_code == 403
    assert await _state(engine, "boss") == (False, ["supervisor"])


async def _disable(http: httpx.AsyncClient, headers: dict[str, str], who: str) -> int:
    return (await http.post(f"/api/v1/users/{who}/disable", headers=headers)).status_code


async def test_two_admins_disabling_each_other_at_once_leave_one(live: LiveApp) -> None:
    engine = live.container.engine
    for round_ in range(4):
        a, b = f"a{round_}", f"b{round_}"
        ha = await builders.signed_in(live.http, engine, a, "admin")
        hb = await builders.signed_in(live.http, engine, b, "admin")
        # Every admin of earlier rounds is disabled: these two are the only active ones.
        answers = await asyncio.gather(_disable(live.http, ha, b), _disable(live.http, hb, a))
        assert sorted(answers) in ([204, 401], [204, 409]), answers
        async with engine.connect() as conn:
            active = await conn.scalar(
                select(func.count())
                .select_from(users)
                .where(literal("admin") == any_(users.c.roles), users.c.disabled.is_(False))
            )
        assert active == 1
        # The one left disables nobody else; the next round's pair takes over.
        survivor = a if answers[0] == 204 else b
        async with engine.begin() as conn:
            await conn.execute(
                users.update().where(users.c.username == survivor).values(disabled=True)
            )
            await conn.execute(tokens.update().values(revoked_at=func.now()))
