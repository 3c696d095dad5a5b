"""Device tokens over real HTTP: device roles only (an admin token for a stolen tablet is
refused), expiry by setting, listing without the token, revocation, and what an intake device
may do."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from command.tables import audit_log, tokens
from tests.support import builders, dispatch_builders
from tests.support.live import LiveApp, serve


async def _device_tokens(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(tokens).where(tokens.c.kind == "device")
        return int(await conn.scalar(query) or 0)


async def test_a_device_token_with_a_person_s_role_is_refused(live: LiveApp) -> None:
    engine = live.container.engine
    admin = await builders.signed_in(live.http, engine, "root", "admin")
    await dispatch_builders.add_unit(engine, "E1", "engine")
    for roles in (["admin"], ["field_unit", "admin"], ["dispatcher"], ["call_taker"]):
        r = await live.http.post(
            "/api/v1/devices", json={"device": "E1", "roles": roles}, headers=admin
        )
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "device.role_not_allowed"
        assert r.json()["params"]["allowed"] == ["field_unit", "intake"]
    assert await _device_tokens(engine) == 0
    # Below the API too: nothing issues such a token.
    async with engine.connect() as conn:
        audit_rows = await conn.scalar(
            select(func.count()).select_from(audit_log).where(audit_log.c.action == "device.add")
        )
    assert audit_rows == 0


async def test_devices_are_listed_without_their_token_and_revoked(live: LiveApp) -> None:
    engine = live.container.engine
    admin = await builders.signed_in(live.http, engine, "root", "admin")
    await dispatch_builders.add_unit(engine, "E1", "engine")
    issued = await live.http.post("/api/v1/devices", json={"device": "E1"}, headers=admin)
    assert issued.status_code == 201
    token = issued.json()["token"]
    token_id = issued.json()["id"]
    assert issued.json()["roles"] == ["field_unit"]
    terminal = {"Authorization": f"Bearer {token}"}
    assert (await live.http.get("/api/v1/auth/me", headers=terminal)).status_code == 200

    listed = await live.http.get("/api/v1/devices", headers=admin)
    assert listed.status_code == 200
    assert token not in listed.text
    (row,) = listed.json()
    assert row["id"] == token_id
    assert row["device"] == "E1"
    assert row["roles"] == ["field_unit"]
    assert row["revoked_at"] is None
    assert row["expires_at"] == issued.json()["expires_at"]
    assert set(row) == {
        "id", "device", "roles", "created_at", "expires_at", "last_seen_at", "revoked_at",
    }  # fmt: skip

    revoked = await live.http.delete(f"/api/v1/devices/{token_id}", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    refused = await live.http.get("/api/v1/auth/me", headers=terminal)
    assert (refused.status_code, refused.json()["code"]) == (401, "auth.token_invalid")
    again = await live.http.delete(f"/api/v1/devices/{token_id}", headers=admin)
    assert (again.status_code, again.json()["code"]) == (409, "device.revoked_already")
    unknown = await live.http.delete("/api/v1/devices/999999", headers=admin)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "device.unknown")
    async with engine.connect() as conn:
        actions = list(
            (
                await conn.execute(
                    select(audit_log.c.action)
                    .where(audit_log.c.action.like("device.%"))
                    .order_by(audit_log.c.id)  # in the order written, not as a scan returns it
                )
            ).scalars()
        )
    assert actions == ["device.add", "device.revoke"]


async def test_a_device_token_expires_after_the_configured_days(database_url: str) -> None:
    async with serve(database_url, device_token_days=30.0) as app:
        engine = app.container.engine
        admin = await builders.signed_in(app.http, engine, "root", "admin")
        issued = await app.http.post(
            "/api/v1/devices", json={"device": "sms-gw", "roles": ["intake"]}, headers=admin
        )
        assert issued.status_code == 201, issued.text
        gateway = {"Authorization": f"Bearer {issued.json()['token']}"}
        app.advance(timedelta(days=29))
        assert (await app.http.get("/api/v1/auth/me", headers=gateway)).status_code == 200
        app.advance(timedelta(days=1, minutes=1))
        r = await app.http.get("/api/v1/auth/me", headers=gateway)
        assert (r.status_code, r.json()["code"]) == (401, "auth.token_expired")
        assert "expired" in r.json()["message"]


async def test_an_intake_device_reports_and_does_nothing_else(live: LiveApp) -> None:
    engine = live.container.engine
    gateway = {"Authorization": f"Bearer {await builders.device(engine, 'sms-gw', 'intake')}"}
    sms = {"sender": "+4237776000", "text": "Fire, cannot speak", "external_id": "m-1"}
    r = await live.http.post("/api/v1/telephony/intake/sms", json=sms, headers=gateway)
    assert r.status_code == 201, r.text
    alarm = {"source": "panel-9", "text": "smoke detector zone 4", "lat": 47.1, "lon": 9.5}
    r = await live.http.post("/api/v1/telephony/intake/alarm", json=alarm, headers=gateway)
    assert r.status_code == 201, r.text
    for method, path in (
        ("GET", "/api/v1/incidents"),
        ("GET", "/api/v1/telephony/calls"),
        ("GET", "/api/v1/users"),
        ("GET", "/api/v1/events"),
    ):
        refused = await live.http.request(method, path, headers=gateway)
        assert refused.status_code == 403, (path, refused.text)
