"""The audit chain: rows written without a lock, sealed after commit, and `cad audit verify`
catching an edited, a deleted and a reordered row, and rows left unsealed too long.

What an intruder with the database owner's rights could do is done here through the owner's
engine (``admin_engine``); the server's own role cannot do it at all (test_audit_guard.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from command import audit
from command.audit_trail import AuditTrail
from command.settings import Settings
from command.tables import audit_log
from tests.support import builders
from tests.support.cli import cad
from tests.support.database import PgServer
from tests.support.live import LiveApp


@pytest.fixture
def trail(engine: AsyncEngine, tmp_path: Path) -> AuditTrail:
    return AuditTrail(engine, Settings(audit_dir=tmp_path), create_key=True)


async def _rows(trail: AuditTrail, n: int) -> None:
    engine = trail.engine
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
    # What the sealer of a running server does within a second of the commits.
    await trail.seal()


def _verify_cli(
    database_url: str, trail: AuditTrail, *extra: str
) -> subprocess.CompletedProcess[str]:
    return cad(
        "audit",
        "verify",
        *extra,
        CAD_DATABASE_URL=database_url,
        CAD_AUDIT_DIR=str(trail.checkpoints.directory),
    )


async def _tamper(engine: AsyncEngine, *statements: str) -> None:
    # What someone with database access could do: bypass the append-only trigger.
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_append_only"))
        for statement in statements:
            await conn.execute(text(statement))
        await conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_append_only"))


async def test_intact_chain_verifies(
    engine: AsyncEngine, trail: AuditTrail, admin_engine: AsyncEngine, database_url: str
) -> None:
    await _rows(trail, 5)
    result = _verify_cli(database_url, trail)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 rows" in result.stdout
    assert "TAMPERED" not in result.stdout


async def test_edited_row_is_caught(
    engine: AsyncEngine, trail: AuditTrail, admin_engine: AsyncEngine, database_url: str
) -> None:
    await _rows(trail, 5)
    await _tamper(admin_engine, "UPDATE audit_log SET result = 'denied' WHERE id = 3")
    result = _verify_cli(database_url, trail)
    assert result.returncode == 1
    assert "row 3 was changed" in result.stdout


async def test_edit_with_recomputed_hash_still_breaks_the_chain(
    engine: AsyncEngine, trail: AuditTrail, admin_engine: AsyncEngine
) -> None:
    await _rows(trail, 4)
    await _tamper(admin_engine, "UPDATE audit_log SET hash = repeat('a', 64) WHERE id = 2")
    async with engine.connect() as conn:
        report = await audit.verify(conn, trail.key, trail.checkpoints)
    assert "row 3 does not link to the row before it" in report.problems


async def test_deleted_row_is_caught(
    engine: AsyncEngine, trail: AuditTrail, admin_engine: AsyncEngine, database_url: str
) -> None:
    await _rows(trail, 5)
    await _tamper(admin_engine, "DELETE FROM audit_log WHERE id = 2")
    result = _verify_cli(database_url, trail)
    assert result.returncode == 1
    assert "rows 2..2 are missing" in result.stdout


async def test_truncated_tail_is_caught_against_a_kept_head(
    engine: AsyncEngine, trail: AuditTrail, admin_engine: AsyncEngine, database_url: str
) -> None:
    await _rows(trail, 3)
    async with engine.connect() as conn:
        head = (await audit.verify(conn, trail.key, trail.checkpoints)).head
    await _tamper(admin_engine, "DELETE FROM audit_log WHERE id = 3")
    result = _verify_cli(database_url, trail, "--expect-head", head)
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


async def _record(conn: AsyncConnection, object_id: str) -> int:
    return await audit.record(
        conn,
        actor="user:ben",
        action="incident.note",
        object_type="incident",
        object_id=object_id,
        source="10.0.0.8",
        result="ok",
    )


async def _verified(trail: AuditTrail, **options: Any) -> audit.Verification:
    async with trail.engine.connect() as conn:
        return await audit.verify(conn, trail.key, trail.checkpoints, **options)


async def test_concurrent_writers_hold_their_rows_open_together_and_all_are_chained(
    engine: AsyncEngine,
    trail: AuditTrail,
    admin_engine: AsyncEngine,
) -> None:
    # All twenty transactions have written their row before any commits: with one writers'
    # lock the second would wait for the first, which waits for all, and none would finish.
    writers = 20
    everyone_wrote = asyncio.Barrier(writers)

    async def writer(n: int) -> int:
        async with engine.begin() as conn:
            row_id = await _record(conn, f"2026-{n:06d}")
            await asyncio.wait_for(everyone_wrote.wait(), 10)
        return row_id

    ids = await asyncio.wait_for(asyncio.gather(*(writer(n) for n in range(writers))), 20)
    before = await _verified(trail)
    assert (before.rows, before.unsealed, before.ok) == (0, writers, True)
    async with engine.connect() as conn:
        assert await audit.seal(conn, trail.key, trail.checkpoints)
    report = await _verified(trail)
    assert (report.rows, report.unsealed, report.ok) == (writers, 0, True), report.problems
    async with engine.connect() as conn:
        chained = (
            await conn.execute(select(audit_log.c.id, audit_log.c.seq).order_by(audit_log.c.seq))
        ).all()
    assert sorted(r.id for r in chained) == sorted(ids)
    assert [r.seq for r in chained] == list(range(1, writers + 1))


async def test_rows_are_sealed_while_writers_go_on_and_a_slow_one_joins_when_it_commits(
    engine: AsyncEngine, trail: AuditTrail, admin_engine: AsyncEngine, database_url: str
) -> None:
    # Two processes' sealers take turns on the same log.
    other = create_async_engine(database_url)
    sealers = [
        audit.Sealer(engine, trail.key, trail.checkpoints, interval=0.01),
        audit.Sealer(other, trail.key, trail.checkpoints, interval=0.01),
    ]
    for sealer in sealers:
        await sealer.start()
    opened, release = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        async with engine.begin() as conn:
            await _record(conn, "slow")
            opened.set()
            await asyncio.wait_for(release.wait(), 30)

    held = asyncio.create_task(slow())
    try:
        await asyncio.wait_for(opened.wait(), 10)

        async def writer(w: int) -> None:
            for i in range(10):
                async with engine.begin() as conn:
                    await _record(conn, f"{w}-{i}")

        await asyncio.wait_for(asyncio.gather(*(writer(w) for w in range(8))), 20)
        assert not held.done()
        await _until(trail, lambda r: r.rows == 80)
        release.set()
        await held
        await _until(trail, lambda r: r.rows == 81)
        report = await _verified(trail)
        assert (report.unsealed, report.ok) == (0, True), report.problems
        async with engine.connect() as conn:
            last = await conn.scalar(
                select(audit_log.c.object_id).order_by(audit_log.c.seq.desc()).limit(1)
            )
        assert last == "slow"  # written first, committed last, sealed last
    finally:
        release.set()
        await asyncio.gather(held, return_exceptions=True)
        for sealer in sealers:
            await sealer.stop()
        await other.dispose()


async def _until(
    trail: AuditTrail, condition: Callable[[audit.Verification], bool], limit: float = 10
) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not condition(await _verified(trail)):
        assert asyncio.get_running_loop().time() < deadline, "the sealer did not get there"
        await asyncio.sleep(0.02)


async def test_gaps_in_ids_from_rolled_back_writes_are_not_deletions(
    engine: AsyncEngine, trail: AuditTrail, admin_engine: AsyncEngine
) -> None:
    await _rows(trail, 2)
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await _record(conn, "rolled back")
            raise RuntimeError("the change failed")
    await _rows(trail, 2)
    report = await _verified(trail)
    assert (report.rows, report.ok) == (4, True), report.problems
    async with engine.connect() as conn:
        ids = (await conn.execute(select(audit_log.c.id).order_by(audit_log.c.seq))).scalars()
        assert list(ids) == [1, 2, 4, 5]


async def test_reordering_is_caught(
    engine: AsyncEngine, trail: AuditTrail, admin_engine: AsyncEngine
) -> None:
    await _rows(trail, 4)
    await _tamper(
        admin_engine,
        "UPDATE audit_log SET seq = -2 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = -2",
    )
    report = await _verified(trail)
    assert "row 2 does not link to the row before it" in report.problems
    assert "row 3 does not link to the row before it" in report.problems
    assert "row 4 does not link to the row before it" in report.problems


async def test_a_row_moved_out_of_the_numbering_is_caught(
    engine: AsyncEngine, trail: AuditTrail, admin_engine: AsyncEngine
) -> None:
    await _rows(trail, 3)
    await _tamper(admin_engine, "UPDATE audit_log SET seq = 0 WHERE seq = 2")
    report = await _verified(trail)
    assert "row 0 is out of order" in report.problems
    assert "rows 2..2 are missing (deleted)" in report.problems


async def test_rows_left_unsealed_too_long_are_reported(
    engine: AsyncEngine, trail: AuditTrail, admin_engine: AsyncEngine, database_url: str
) -> None:
    async with engine.begin() as conn:
        waiting = [await _record(conn, "a"), await _record(conn, "b")]
    fresh = _verify_cli(database_url, trail)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "0 rows, 2 waiting for their seal" in fresh.stdout
    report = await _verified(trail, now=datetime.now(UTC) + timedelta(minutes=2))
    assert report.late == waiting
    assert not report.ok
    late = _verify_cli(database_url, trail, "--max-unsealed", "0")
    assert late.returncode == 1
    assert f"LATE: 2 rows have waited more than 0 s for their seal (ids {waiting[0]}, " in (
        late.stdout
    )
    assert "TAMPERED" not in late.stdout


async def test_an_unsealed_row_edited_before_its_seal_is_caught_before_and_after(
    engine: AsyncEngine,
    trail: AuditTrail,
    admin_engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        row_id = await _record(conn, "2026-000001")
    await _tamper(admin_engine, f"UPDATE audit_log SET result = 'denied' WHERE id = {row_id}")
    before = await _verified(trail)
    assert before.problems == [f"unsealed row with id {row_id} was changed after it was written"]
    async with engine.connect() as conn:
        await audit.seal(conn, trail.key, trail.checkpoints)
    assert (await _verified(trail)).problems == ["row 1 was changed after it was written"]


async def test_cad_audit_seal_chains_what_waits(
    engine: AsyncEngine, trail: AuditTrail, admin_engine: AsyncEngine, database_url: str
) -> None:
    async with engine.begin() as conn:
        await _record(conn, "a")
    sealed = cad("audit", "seal", CAD_DATABASE_URL=database_url)
    assert sealed.returncode == 0, sealed.stderr
    assert "1 rows sealed" in sealed.stdout
    assert (await _verified(trail)).rows == 1


async def test_a_bad_unsealed_limit_is_refused(
    engine: AsyncEngine, trail: AuditTrail, admin_engine: AsyncEngine, database_url: str
) -> None:
    async with engine.begin() as conn:
        await _record(conn, "a")
    for bad, message in (("-5", "outside 0..31536000"), ("soon", "is not a number of seconds")):
        result = _verify_cli(database_url, trail, "--max-unsealed", bad)
        assert result.returncode == 2
        assert message in result.stderr
    assert (await _verified(trail)).unsealed == 1  # nothing was sealed or changed


async def test_a_running_server_seals_its_audit_rows(live: LiveApp) -> None:
    await builders.signed_in(live.http, live.container.engine, "ops2", "admin")
    trail = live.container.audit_trail
    await _until(trail, lambda r: r.rows >= 1 and r.unsealed == 0)
    assert (await _verified(trail)).ok


def _legacy_digest(row: dict[str, Any]) -> str:
    # The chain hash as the first release computed it, under its writers' lock.
    body = [
        row["id"],
        row["at"].isoformat(),
        row["actor"],
        row["action"],
        row["object_type"],
        row["object_id"],
        row["source"],
        row["result"],
        row["detail"],
        row["prev_hash"],
    ]
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def test_a_chain_from_before_the_upgrade_still_verifies_and_goes_on(
    foundation_url: str, pg_server: PgServer, tmp_path: Path
) -> None:
    engine = create_async_engine(foundation_url)
    name = str(make_url(foundation_url).database)
    admin_engine = create_async_engine(pg_server.admin_url(name))
    trail = AuditTrail(engine, Settings(audit_dir=tmp_path), create_key=True)
    try:
        prev = audit.GENESIS
        async with engine.begin() as conn:
            for i in range(1, 4):
                row: dict[str, Any] = {
                    "id": i,
                    "at": datetime(2026, 11, 1, 8, i, tzinfo=UTC),
                    "actor": "user:anna",
                    "action": "login",
                    "object_type": "user",
                    "object_id": "anna",
                    "source": "10.0.0.7",
                    "result": "ok",
                    "detail": {"n": i, "note": "登录"},
                    "prev_hash": prev,
                }
                row["hash"] = prev = _legacy_digest(row)
                await conn.execute(
                    text(
                        "INSERT INTO audit_log (id, at, actor, action, object_type, object_id, "
                        "source, result, detail, prev_hash, hash) VALUES (:id, :at, :actor, "
                        ":action, :object_type, :object_id, :source, :result, "
                        "CAST(:detail AS jsonb), :prev_hash, :hash)"
                    ),
                    {**row, "detail": json.dumps(row["detail"])},
                )
        await pg_server.migrate(name)
        old = await _verified(trail)
        assert (old.rows, old.head, old.ok) == (3, prev, True), old.problems
        await _rows(trail, 2)
        report = await _verified(trail)
        assert (report.rows, report.ok) == (5, True), report.problems
        async with engine.connect() as conn:
            ids = (await conn.execute(select(audit_log.c.id).order_by(audit_log.c.seq))).scalars()
            assert list(ids) == [1, 2, 3, 4, 5]
        await _tamper(admin_engine, "UPDATE audit_log SET result = 'denied' WHERE id = 2")
        assert (await _verified(trail)).problems == ["row 2 was changed after it was written"]
    finally:
        await engine.dispose()
        await admin_engine.dispose()
