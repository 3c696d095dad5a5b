"""The audit chain, and `cad audit verify` catching an edited and a deleted row."""

from __future__ import annotations

import subprocess

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from command import audit
from command.tables import audit_log
from tests.support import builders
from tests.support.cli import cad
from tests.support.live import LiveApp


async def _rows(engine: AsyncEngine, n: int) -> None:
    for i in range(n):
        async with engine.begin() as conn:
            await audit.record(
                conn,
                actor="user:anna",
                action="incident.update",
                object_type="incident",
                object_id=f"2026-{i:06d}",
                source="10.0.0.7",
                result="ok",
                detail={"field": "priority", "to": 2, "note": "升级 escalated"},
            )


def _verify_cli(database_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return cad("audit", "verify", *extra, CAD_DATABASE_URL=database_url)


async def _tamper(engine: AsyncEngine, statement: str) -> None:
    # What someone with database access could do: bypass the append-only trigger.
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_append_only"))
        await conn.execute(text(statement))
        await conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_append_only"))


async def test_intact_chain_verifies(engine: AsyncEngine, database_url: str) -> None:
    await _rows(engine, 5)
    result = _verify_cli(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 rows" in result.stdout
    assert "TAMPERED" not in result.stdout


async def test_edited_row_is_caught(engine: AsyncEngine, database_url: str) -> None:
    await _rows(engine, 5)
    await _tamper(engine, "UPDATE audit_log SET result = 'denied' WHERE id = 3")
    result = _verify_cli(database_url)
    assert result.returncode == 1
    assert "row 3 was changed" in result.stdout


async def test_edit_with_recomputed_hash_still_breaks_the_chain(engine: AsyncEngine) -> None:
    await _rows(engine, 4)
    await _tamper(engine, "UPDATE audit_log SET hash = repeat('a', 64) WHERE id = 2")
    async with engine.connect() as conn:
        report = await audit.verify(conn)
    assert "row 3 does not link to the row before it" in report.problems


async def test_deleted_row_is_caught(engine: AsyncEngine, database_url: str) -> None:
    await _rows(engine, 5)
    await _tamper(engine, "DELETE FROM audit_log WHERE id = 2")
    result = _verify_cli(database_url)
    assert result.returncode == 1
    assert "rows 2..2 are missing" in result.stdout


async def test_truncated_tail_is_caught_against_a_kept_head(
    engine: AsyncEngine, database_url: str
) -> None:
    await _rows(engine, 3)
    async with engine.connect() as conn:
        head = (await audit.verify(conn)).head
    await _tamper(engine, "DELETE FROM audit_log WHERE id = 3")
    result = _verify_cli(database_url, "--expect-head", head)
    assert result.returncode == 1
    assert "expected head" in result.stdout


async def test_changes_over_http_are_audited_with_their_result(app: LiveApp) -> None:
    admin = await builders.signed_in(app.http, app.container.engine, "ops1", "admin")
    body = {"username": "nina", "password": "longenough", "roles": ["dispatcher"]}
    assert (await app.http.post("/api/v1/users", json=body, headers=admin)).status_code == 201
    # Refused by a rule: audited with its result. Refused by role: audited as denied.
    assert (await app.http.post("/api/v1/users", json=body, headers=admin)).status_code == 409
    note = {"text": "caller says the door is locked"}
    r = await app.http.post("/api/v1/incidents/1/narrative", json=note, headers=admin)
    assert r.status_code == 403
    # A change handled elsewhere (no audit of its own): the catch-all row names the object.
    taker = await builders.signed_in(app.http, app.container.engine, "ct1", "call_taker")
    r = await app.http.post("/api/v1/incidents/999999/narrative", json=note, headers=taker)
    assert r.status_code == 404
    # Malformed input writes nothing, not even an audit row.
    r = await app.http.post("/api/v1/incidents/1/narrative", json={}, headers=taker)
    assert r.status_code == 422
    async with app.container.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(
                    audit_log.c.actor,
                    audit_log.c.action,
                    audit_log.c.object_id,
                    audit_log.c.result,
                )
                .where(audit_log.c.action != "login")
                .order_by(audit_log.c.id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("user:ops1", "user.add", "nina", "ok"),
        ("user:ops1", "POST /api/v1/users", "-", "failed: 409"),
        ("user:ops1", "access", "POST /api/v1/incidents/1/narrative", "denied"),
        (
            "user:ct1",
            "POST /api/v1/incidents/{incident_id}/narrative",
            "incident_id=999999",
            "failed: 404",
        ),
    ]
