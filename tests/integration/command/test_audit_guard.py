"""The audit log against its own database: the server's role may only append, and what the
owner (a superuser) can still do — truncate, remove the newest rows, recompute the chain,
rewrite where keying began, fake an archive — is caught by the keyed chain and its checkpoints.
Archiving past retention, archive files, and the SIEM export."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from command import audit, audit_archive
from command.audit_trail import AuditTrail
from command.errors import Conflict
from command.settings import Settings
from tests.support import builders
from tests.support.cli import cad
from tests.support.live import LiveApp
from tests.support.waiting import until


@pytest.fixture
def trail(engine: AsyncEngine, tmp_path: Path) -> AuditTrail:
    return AuditTrail(engine, Settings(audit_dir=tmp_path), create_key=True)


async def _write(trail: AuditTrail, n: int) -> None:
    async with trail.engine.begin() as conn:
        for i in range(n):
            await audit.record(
                conn,
                actor="user:anna",
                action="incident.update",
                object_type="incident",
                object_id=f"2026-{i:06d}",
                source="10.0.0.7",
                result="ok",
                detail={"to": i, "note": "升级"},
            )
    await trail.seal()


async def _backdate(admin: AsyncEngine, days: int) -> None:
    """Unsealed rows as if written ``days`` ago (only the owner can, for the test's sake)."""
    async with admin.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_append_only"))
        rows = (
            (await conn.execute(text("SELECT * FROM audit_log WHERE seq IS NULL")))
            .mappings()
            .all()
        )
        for row in rows:
            moved = {**row, "at": row["at"] - timedelta(days=days)}
            await conn.execute(
                text("UPDATE audit_log SET at = :at, content_hash = :c WHERE id = :id"),
                {"at": moved["at"], "c": audit.content_digest(moved), "id": row["id"]},
            )
        await conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_append_only"))


async def _as_owner(admin: AsyncEngine, *statements: str) -> None:
    async with admin.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def test_the_servers_role_is_no_superuser_and_may_only_append(
    trail: AuditTrail, engine: AsyncEngine
) -> None:
    await _write(trail, 3)
    async with engine.connect() as conn:
        role = (
            await conn.execute(
                text("SELECT rolname, rolsuper FROM pg_roles WHERE rolname = current_user")
            )
        ).one()
    assert role == ("cad_app", False)
    for statement in (
        "UPDATE audit_log SET result = 'denied' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_append_only",
        "UPDATE audit_chain SET keyed_from = NULL",
        "DROP TABLE audit_log",
    ):
        with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    # Sealing through the definer function places a row once, and only an unsealed one.
    async with engine.begin() as conn:
        changed = await conn.scalar(
            text(
                "SELECT audit_seal(ARRAY[1]::bigint[], ARRAY[9]::bigint[], ARRAY['x'], ARRAY['y'])"
            )
        )
    assert changed == 0
    assert (await trail.verify()).ok


async def test_truncation_by_the_owner_is_refused_and_caught_when_forced(
    trail: AuditTrail, admin_engine: AsyncEngine
) -> None:
    await _write(trail, 4)
    with pytest.raises(DBAPIError, match="cannot be truncated"):
        await _as_owner(admin_engine, "TRUNCATE audit_log")
    await _as_owner(
        admin_engine,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_no_truncate",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_no_truncate",
    )
    report = await trail.verify()
    assert not report.ok
    assert any("the newest rows were removed or the log truncated" in p for p in report.problems)


async def test_removing_the_newest_rows_is_caught_and_growth_after_a_checkpoint_is_not(
    trail: AuditTrail, admin_engine: AsyncEngine
) -> None:
    await _write(trail, 5)
    await _write(trail, 3)  # normal growth after a checkpoint
    grown = await trail.verify()
    assert (grown.rows, grown.checkpoints, grown.ok) == (8, 2, True), grown.problems
    await _as_owner(
        admin_engine,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_append_only",
        "DELETE FROM audit_log WHERE seq > 6",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_append_only",
    )
    report = await trail.verify()
    assert report.problems == [
        "checkpoint line 2 saw the chain reach row 8, it now ends at 6: the newest rows were "
        "removed or the log truncated"
    ]


async def test_an_edit_with_the_chain_recomputed_without_the_key_is_caught(
    trail: AuditTrail, admin_engine: AsyncEngine
) -> None:
    await _write(trail, 4)
    # The intruder edits row 2 and recomputes every hash from there, as an unkeyed chain would
    # allow; and, to pass as an old unkeyed chain, says keying never began.
    async with admin_engine.begin() as conn:
        await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_append_only"))
        await conn.execute(text("UPDATE audit_log SET result = 'denied' WHERE seq = 2"))
        rows = (await conn.execute(text("SELECT * FROM audit_log ORDER BY seq"))).mappings().all()
        prev = audit.GENESIS
        for row in rows:
            fixed = {**row, "prev_hash": prev}
            fixed["content_hash"] = audit.content_digest(fixed)
            prev = audit.chain_digest(fixed, None)
            await conn.execute(
                text(
                    "UPDATE audit_log SET prev_hash = :p, hash = :h, content_hash = :c "
                    "WHERE seq = :s"
                ),
                {"p": fixed["prev_hash"], "h": prev, "c": fixed["content_hash"], "s": row["seq"]},
            )
        await conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_append_only"))
        await conn.execute(text("UPDATE audit_chain SET keyed_from = NULL"))
    report = await trail.verify()
    assert not report.ok
    assert any("the chain was rewritten" in p for p in report.problems)
    assert any("differs from its checkpoint" in p for p in report.problems)
    # With keying left as it was, the recomputed rows fail their keyed hashes.
    await _as_owner(admin_engine, "UPDATE audit_chain SET keyed_from = 1")
    assert "row 1 was changed after it was written" in (await trail.verify()).problems


async def test_a_forged_checkpoint_and_a_missing_checkpoint_file_are_reported(
    trail: AuditTrail, engine: AsyncEngine
) -> None:
    await _write(trail, 2)
    state = await _state(engine)
    path = trail.checkpoints.path(state.chain)
    line = json.loads(path.read_text().splitlines()[-1])
    line["seq"] = 1
    path.write_text(path.read_text() + json.dumps(line) + "\n")
    assert "checkpoint line 2 was forged or changed" in (await trail.verify()).problems
    path.unlink()
    report = await trail.verify(max_unsealed=timedelta(0))
    assert any("no checkpoint of this chain" in p for p in report.problems)


async def _state(engine: AsyncEngine) -> audit.ChainState:
    async with engine.connect() as conn:
        return await audit.chain_state(conn)


async def test_archiving_past_retention_keeps_the_chain_verifiable(
    trail: AuditTrail, admin_engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    async with trail.engine.begin() as conn:
        for i in range(5):
            await audit.record(
                conn,
                actor="user:old",
                action="login",
                object_type="user",
                object_id="old",
                source="10.0.0.1",
                result="ok",
                detail={"n": i},
            )
    await _backdate(admin_engine, 400)
    await trail.seal()
    await _write(trail, 3)  # this year's rows stay
    admin_trail = AuditTrail(
        admin_engine, Settings(audit_dir=trail.checkpoints.directory), create_key=False
    )
    done = await audit_archive.archive(
        admin_engine,
        admin_trail.key,
        admin_trail.checkpoints,
        tmp_path / "archive",
        retention=timedelta(days=366),
        now=datetime.now(UTC),
    )
    assert (done.first, done.last, done.rows) == (1, 5, 5)
    assert done.path is not None
    assert audit_archive.verify_file(done.path, trail.key) == []
    await trail.seal()  # the archive's own audit row
    report = await trail.verify()
    assert (report.rows, report.ok) == (4, True), report.problems
    # Nothing younger than retention goes, however asked.
    again = await audit_archive.archive(
        admin_engine,
        admin_trail.key,
        admin_trail.checkpoints,
        tmp_path / "archive",
        retention=timedelta(days=366),
        now=datetime.now(UTC),
    )
    assert again.rows == 0
    # An archive file edited afterwards is caught.
    lines = done.path.read_text().splitlines()
    lines[2] = lines[2].replace('"result": "ok"', '"result": "denied"')
    done.path.write_text("\n".join(lines) + "\n")
    assert audit_archive.verify_file(done.path, trail.key) == [
        f"{done.path.name} line 3: row 3 was changed"
    ]
    checked = cad(
        "audit",
        "verify-archive",
        str(done.path),
        CAD_DATABASE_URL=database_url,
        CAD_AUDIT_DIR=str(trail.checkpoints.directory),
    )
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "TAMPERED" in checked.stdout


async def test_a_removal_passed_off_as_an_archive_is_caught(
    trail: AuditTrail, admin_engine: AsyncEngine
) -> None:
    await _write(trail, 5)
    async with admin_engine.begin() as conn:
        last = await conn.scalar(text("SELECT hash FROM audit_log WHERE seq = 3"))
        await conn.execute(text("SET LOCAL session_replication_role = replica"))
        await conn.execute(text("DELETE FROM audit_log WHERE seq <= 3"))
        await conn.execute(
            text("UPDATE audit_chain SET archived_upto = 3, archived_hash = :h"), {"h": last}
        )
    report = await trail.verify()
    assert any("gone as if archived, but no checkpoint records" in p for p in report.problems)


async def test_an_archive_of_a_broken_chain_is_refused_and_changes_nothing(
    trail: AuditTrail, admin_engine: AsyncEngine, tmp_path: Path
) -> None:
    await _write(trail, 3)
    await _as_owner(
        admin_engine,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_append_only",
        "UPDATE audit_log SET result = 'denied' WHERE seq = 2",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_append_only",
    )
    with pytest.raises(Conflict) as refused:
        await audit_archive.archive(
            admin_engine,
            trail.key,
            trail.checkpoints,
            tmp_path / "archive",
            retention=timedelta(days=366),
            now=datetime.now(UTC) + timedelta(days=1000),
        )
    assert refused.value.code == "audit.archive_broken_chain"
    assert not (tmp_path / "archive").exists()
    assert (await trail.verify()).rows == 3


async def test_export_as_json_lines_and_syslog(trail: AuditTrail, database_url: str) -> None:
    await _write(trail, 3)
    env = {"CAD_DATABASE_URL": database_url, "CAD_AUDIT_DIR": str(trail.checkpoints.directory)}
    jsonl = cad("audit", "export", "--after", "1", **env)
    assert jsonl.returncode == 0, jsonl.stderr
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [r["seq"] for r in rows] == [2, 3]
    assert rows[0]["detail"] == {"to": 1, "note": "升级"}
    syslog = cad("audit", "export", "--format", "syslog", **env)
    lines = syslog.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("<86>1 ")
    assert 'cad@32473 seq="1" actor="user:anna" action="incident.update"' in lines[0]
    bad = cad("audit", "export", "--after", "-1", **env)
    assert bad.returncode == 2
    assert "is not a row number" in bad.stderr


async def test_checkpoints_reach_a_syslog_receiver(engine: AsyncEngine, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(10)
        port = receiver.getsockname()[1]
        trail = AuditTrail(
            engine, Settings(audit_dir=tmp_path, audit_syslog=f"127.0.0.1:{port}"), create_key=True
        )
        await _write(trail, 2)
        message = receiver.recv(65536).decode()
    assert message.startswith("<85>1 ")
    assert '"seq":2' in message
    assert '"mac":' in message


def test_a_bad_syslog_address_is_refused() -> None:
    with pytest.raises(ValueError, match="audit_syslog"):
        Settings(audit_syslog="not an address")


async def test_the_live_server_checkpoints_its_seals(live: LiveApp) -> None:
    await builders.signed_in(live.http, live.container.engine, "ops3", "admin")
    trail = live.container.audit_trail
    state = await _state(live.container.engine)
    path = trail.checkpoints.path(state.chain)
    await until(path.exists, limit=10)
    report = await trail.verify()
    assert report.ok, report.problems
    assert report.checkpoints >= 1
