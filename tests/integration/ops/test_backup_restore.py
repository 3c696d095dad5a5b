"""Backup and point-in-time restore of a real embedded cluster, through the `cad` command line.

Incidents (with their status history, notes and calls) and audit rows are written through the
incident store and the audit code, and sealed into the keyed chain with its checkpoints. After
a backup, more is written, the time T is noted with the row count of every table in the public
schema, and more is written still. `cad restore --to-time T` must bring back exactly the counts
at T, without the rows written after it, with an audit chain that verifies. Restores that
cannot be done (no backup, a time before the backup or to come, an unknown backup) must change
nothing.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from command import audit
from command.audit_trail import AuditTrail
from command.incidents import store
from command.settings import Settings
from ops import pgbackup
from ops.pgcluster import Cluster, ClusterError
from tests.support.cli import cad, embedded_cluster
from tests.support.waiting import until


@dataclass
class Centre:
    env: dict[str, str]
    cluster: Cluster
    settings: Settings

    @property
    def var(self) -> Path:
        return Path(self.env["CAD_VAR_DIR"])


@pytest.fixture(scope="module")
def centre() -> Iterator[Centre]:
    with embedded_cluster() as env:
        var = Path(env["CAD_VAR_DIR"])
        settings = Settings(
            _env_file=None,
            var_dir=var,
            embedded_port=int(env["CAD_EMBEDDED_PORT"]),
        )
        # A test cluster (fsync off); `cad db init` then starts it with WAL archiving, as it
        # starts a cluster made by an older release.
        bare = Cluster(root=var / "pg", port=settings.embedded_port)
        assert bare.init(durable=False)
        done = cad("db", "init", **env)
        assert done.returncode == 0, done.stderr
        cluster = Cluster(
            root=(var / "pg").resolve(),
            port=settings.embedded_port,
            archive_dir=settings.wal_archive_path.resolve(),
        )
        yield Centre(env, cluster, settings)


async def _write(c: Centre, label: str, n: int) -> list[str]:
    """``n`` incidents, each with an audit row in its transaction; then sealed and checkpointed.
    Returns the incidents' numbers."""
    engine = create_async_engine(c.cluster.url())
    try:
        trail = AuditTrail(engine, c.settings, create_key=True)
        numbers = []
        for i in range(n):
            async with engine.begin() as conn:
                at = datetime.now(UTC)
                incident = await store.create_new(
                    conn,
                    {
                        "type_code": "fire",
                        "priority": 1 + i % 4,
                        "response_level": 1,
                        "command_level": "district",
                        "region": "liechtenstein",
                        "jurisdiction_id": None,
                        "jurisdiction_name": None,
                        "address": f"Städtle {i + 1}, Vaduz",
                        "cross_streets": "",
                        "caller_name": f"{label} caller {i}",
                        "caller_phone": f"+4232{i:05d}",
                        "summary": f"{label} smoke {i}",
                        "actor": "calltaker1",
                        "at": at,
                        "call_id": f"{label}-{i}",
                        "call_answered_at": at,
                    },
                    9.5215,
                    47.1410,
                )
                await audit.record(
                    conn,
                    actor="calltaker1",
                    action="incident.create",
                    object_type="incident",
                    object_id=str(incident.id),
                    source="127.0.0.1",
                    result="ok",
                    detail={"number": incident.number},
                )
                numbers.append(incident.number)
        await trail.seal()
        return numbers
    finally:
        await engine.dispose()


async def _counts(c: Centre) -> dict[str, int]:
    """Rows of every table in the public schema (partitioned ones and their parts)."""
    conn = await asyncpg.connect(c.cluster.url(driver="postgresql"))
    try:
        tables = await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1"
        )
        return {
            t["relname"]: int(await conn.fetchval(f'SELECT count(*) FROM "{t["relname"]}"'))
            for t in tables
        }
    finally:
        await conn.close()


async def _fetch(c: Centre, query: str) -> object:
    conn = await asyncpg.connect(c.cluster.url(driver="postgresql"))
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def _identity(c: Centre) -> object:
    """What changes when a data directory is replaced: the cluster's system identifier."""
    return asyncio.run(_fetch(c, "SELECT system_identifier FROM pg_control_system()"))


def _untouched(c: Centre, before: dict[str, int], identity: object) -> None:
    assert c.cluster.running()
    assert _identity(c) == identity
    assert asyncio.run(_counts(c)) == before
    assert not list(c.cluster.root.glob("data.*-restore-*"))


def _refused(c: Centre, *args: str) -> str:
    done = cad("restore", *args, **c.env)
    assert done.returncode == 2, done.stdout + done.stderr
    return done.stderr


def test_restore_to_a_time_brings_back_every_table_as_it_was(centre: Centre) -> None:
    c = centre
    assert asyncio.run(_fetch(c, "SHOW data_checksums")) == "on"
    assert asyncio.run(_fetch(c, "SHOW archive_mode")) == "on"
    asyncio.run(_write(c, "before-backup", 5))

    # Refused, and nothing changed, while there is no backup.
    before, identity = asyncio.run(_counts(c)), _identity(c)
    assert "there is no backup to restore from" in _refused(c)
    _untouched(c, before, identity)

    clock = time.monotonic()
    done = cad("backup", **c.env)
    backup_s = time.monotonic() - clock
    assert done.returncode == 0, done.stderr
    name = re.search(r"^backup (\S+) in ", done.stdout, re.M)
    assert name, done.stdout
    print(done.stdout)
    listed = cad("backup", "list", **c.env)
    assert name.group(1) in listed.stdout, listed.stdout
    assert "WAL archive" in listed.stdout, listed.stdout

    kept = asyncio.run(_write(c, "kept", 7))
    at_t = asyncio.run(_counts(c))
    head_at_t = int(str(asyncio.run(_fetch(c, "SELECT max(seq) FROM audit_log"))))
    target = datetime.now(UTC)
    lost = asyncio.run(_write(c, "lost", 6))
    after = asyncio.run(_counts(c))
    assert after["incidents"] == at_t["incidents"] + len(lost)

    # Refused, and nothing changed: a time before the backup, one to come, a name unknown.
    identity = _identity(c)
    early = (target - timedelta(hours=1)).isoformat()
    assert "a restore can reach only later times" in _refused(c, "--to-time", early)
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert "is in the future" in _refused(c, "--to-time", later)
    assert "no backup named" in _refused(c, "19700101T000000Z")
    # A copy of the backup with one file gone is refused before anything is done.
    damaged = c.settings.backup_path / "20000101T000000Z"
    shutil.copytree(c.settings.backup_path / name.group(1), damaged, symlinks=True)
    (damaged / "global" / "pg_control").unlink()
    assert "does not match its manifest" in _refused(c, damaged.name)
    shutil.rmtree(damaged)
    _untouched(c, after, identity)

    clock = time.monotonic()
    done = cad("restore", "--to-time", target.isoformat(), **c.env)
    restore_s = time.monotonic() - clock
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)

    restored = asyncio.run(_counts(c))
    # The restore's own audit row is the one row more than at T.
    assert restored == {**at_t, "audit_log": at_t["audit_log"] + 1}
    numbers = asyncio.run(_fetch(c, "SELECT array_agg(number) FROM incidents"))
    assert isinstance(numbers, list)
    assert set(kept) <= set(numbers)
    assert not set(lost) & set(numbers)
    assert asyncio.run(_fetch(c, "SELECT max(seq) FROM audit_log")) == head_at_t + 1
    assert asyncio.run(_fetch(c, "SELECT count(*) FROM audit_log WHERE seq IS NULL")) == 0
    assert _identity(c) == identity  # the same cluster, from its own backup
    assert asyncio.run(_fetch(c, "SHOW data_checksums")) == "on"
    assert len(list(c.cluster.root.glob("data.before-restore-*"))) == 1

    verified = cad("audit", "verify", **c.env)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The restored centre goes on: written rows are archived again and the chain grows.
    asyncio.run(_write(c, "after-restore", 2))
    verified = cad("audit", "verify", **c.env)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    rows = sum(at_t.values())
    print(
        f"restore figures: {len(at_t)} tables compared, {rows} rows at T "
        f"({at_t['incidents']} incidents, {at_t['audit_log']} audit rows), "
        f"{after['incidents'] - at_t['incidents']} incidents after T absent; "
        f"cad backup {backup_s:.2f} s, cad restore {restore_s:.2f} s"
    )


def test_backup_keep_prunes_older_backups_and_their_wal(centre: Centre) -> None:
    if not pgbackup.backups(centre.settings.backup_path):  # (run alone: one to prune)
        assert cad("backup", **centre.env).returncode == 0
    done = cad("backup", "--keep", "1", **centre.env)
    assert done.returncode == 0, done.stderr
    names = [p.name for p in centre.settings.backup_path.iterdir() if p.name != "wal"]
    assert len(names) == 1, names
    assert "removed backup" in done.stdout
    # The archive keeps the WAL from the kept backup's start on, and nothing before it.
    (kept,) = pgbackup.backups(centre.settings.backup_path)
    segments = sorted(
        p.name for p in centre.settings.wal_archive_path.iterdir() if len(p.name) == 24
    )
    assert segments, "no WAL archived"
    assert segments[0] == kept.start_wal


def test_backup_and_restore_refuse_without_a_cluster() -> None:
    with embedded_cluster() as env:
        for args in (("backup",), ("restore",)):
            done = cad(*args, **env)
            assert done.returncode == 2, done.stdout + done.stderr
            assert "there is no embedded cluster yet" in done.stderr
        assert not (Path(env["CAD_VAR_DIR"]) / "pg").exists()


def test_backup_and_restore_refuse_a_server_that_is_not_embedded() -> None:
    elsewhere = {"CAD_DATABASE_URL": "postgresql://cad_app:secret@127.0.0.1:9/cad"}
    for args in (("backup",), ("restore",), ("restore", "--to-time", "2026-01-01T00:00:00Z")):
        done = cad(*args, **elsewhere)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "CAD_DATABASE_URL is set" in done.stderr


def test_a_restore_that_fails_puts_the_old_data_directory_back(centre: Centre) -> None:
    c = centre
    done = cad("backup", **c.env)
    assert done.returncode == 0, done.stderr
    asyncio.run(_write(c, "unarchived", 2))
    before, identity = asyncio.run(_counts(c)), _identity(c)
    backup = pgbackup.backups(c.settings.backup_path)[-1]
    # Straight to the restore, without the commit `cad restore` stamps first: no WAL reaches
    # past this time, so the restored server refuses to promote.
    with pytest.raises(ClusterError, match="the old data directory is back") as failed:
        pgbackup.restore(c.cluster, backup, datetime.now(UTC))
    assert "recovery ended before configured recovery target was reached" in str(failed.value)
    assert asyncio.run(_counts(c)) == before
    assert _identity(c) == identity
    assert len(list(c.cluster.root.glob("data.failed-restore-*"))) == 1


def test_a_cluster_that_no_longer_starts_is_restored_with_its_unarchived_wal(
    centre: Centre,
) -> None:
    c = centre
    if not pgbackup.backups(c.settings.backup_path):  # (run alone)
        assert cad("backup", **c.env).returncode == 0
    kept = asyncio.run(_write(c, "kept-unarchived", 3))
    at_t = asyncio.run(_counts(c))
    target = datetime.now(UTC)
    lost = asyncio.run(_write(c, "lost-unarchived", 2))
    # The server crashes with its newest WAL not archived (a clean stop would archive it),
    # and its control file is lost.
    os.kill(int((c.cluster.data / "postmaster.pid").read_text().split()[0]), signal.SIGKILL)
    asyncio.run(until(lambda: not c.cluster.running()))
    (c.cluster.data / "global" / "pg_control").unlink()

    done = cad("restore", "--to-time", target.isoformat(), **c.env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the cluster does not start" in done.stdout
    assert re.search(r"and [1-9][0-9]* WAL segments of the old data directory", done.stdout)
    assert asyncio.run(_counts(c)) == {**at_t, "audit_log": at_t["audit_log"] + 1}
    numbers = asyncio.run(_fetch(c, "SELECT array_agg(number) FROM incidents"))
    assert isinstance(numbers, list)
    assert set(kept) <= set(numbers)
    assert not set(lost) & set(numbers)
    verified = cad("audit", "verify", **c.env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
