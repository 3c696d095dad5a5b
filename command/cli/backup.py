"""``cad backup [list]`` and ``cad restore``: base backups of the embedded cluster and
point-in-time restore from them and the WAL archive (``ops.pgbackup`` does the work).

Everything a restore could be refused for is checked before anything is changed. After a
restore to an earlier time the audit chain ends earlier on purpose: the checkpoints past its
new head are moved aside (kept), and the restore itself becomes a row of the audit log.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from command import audit
from command.audit_trail import AuditTrail
from command.cli.common import engine_for, ensure_embedded_running
from command.db import cluster_for
from command.errors import InvalidInput, NotFound, Unavailable
from command.settings import Settings
from command.tables import audit_log
from ops import pgbackup
from ops.pgbackup import Backup
from ops.pgcluster import Cluster, ClusterError


def _time(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not an ISO 8601 time (e.g. 2026-12-03T05:40:00Z)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _keep(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of backups (1 or more)")
    return int(raw)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = sub.add_parser(
        "backup", help="a verified base backup of the embedded cluster (`list`: the backups)"
    )
    backup.add_argument("--to", type=Path, help="directory of backups (default CAD_BACKUP_DIR)")
    backup.add_argument(
        "--keep", type=_keep, metavar="N", help="then remove all but the N newest backups"
    )
    backup.set_defaults(handler=backup_cmd)
    actions = backup.add_subparsers(dest="backup_action", metavar="ACTION")
    listing = actions.add_parser("list", help="the backups: time, size, WAL range")
    listing.add_argument("--in", dest="directory", type=Path, help="default CAD_BACKUP_DIR")
    listing.set_defaults(handler=list_cmd)
    restore = sub.add_parser(
        "restore", help="put a backup in place of the embedded cluster's data, up to a time"
    )
    restore.add_argument("backup", nargs="?", help="its name (default: the newest that fits)")
    restore.add_argument(
        "--to-time",
        type=_time,
        metavar="ISO8601",
        help="replay the archived WAL up to this time (no offset: UTC); default: all of it",
    )
    restore.add_argument("--from", dest="directory", type=Path, help="default CAD_BACKUP_DIR")
    restore.add_argument(
        "--force", action="store_true", help="remove the old data directory (else kept aside)"
    )
    restore.set_defaults(handler=restore_cmd)


def _embedded(settings: Settings, what: str) -> None:
    if not settings.embedded:
        raise InvalidInput(
            f"`cad {what}` works on the embedded cluster; CAD_DATABASE_URL is set (back up "
            "that server with its own tools)",
            code="backup.not_embedded",
            what=what,
        )


def _initialised(cluster: Cluster) -> None:
    if not cluster.initialised():
        raise InvalidInput(
            "there is no embedded cluster yet: `cad db init` creates it",
            code="database.no_cluster",
        )


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB"


def backup_cmd(args: argparse.Namespace, settings: Settings) -> int:
    _embedded(settings, "backup")
    cluster = cluster_for(settings)
    _initialised(cluster)
    ensure_embedded_running(settings)
    directory = (args.to or settings.backup_path).resolve()
    try:
        archiving = pgbackup.sql(cluster, "SHOW archive_mode") == "on"
        taken = pgbackup.take(cluster, directory)
    except ClusterError as exc:
        raise Unavailable(str(exc), code="backup.failed", reason=str(exc)) from exc
    print(f"backup {taken.name} in {taken.path}")
    print(
        f"  {_megabytes(taken.size_bytes)} in {taken.seconds:.2f} s, verified against its "
        f"manifest; WAL {taken.start_wal}..{taken.end_wal} (LSN {taken.start_lsn}.."
        f"{taken.end_lsn}), restorable from {taken.finished.isoformat()}"
    )
    if not archiving:
        print(
            "  note: the running server does not archive its WAL yet (it was started by an "
            "older release): `cad db stop && cad db start` turns archiving on; until then a "
            "restore reaches only the end of a backup"
        )
    if args.keep is not None:
        archive = cluster.archive_dir if directory == settings.backup_path.resolve() else None
        removed = pgbackup.prune(directory, args.keep, archive)
        for old in removed:
            print(f"removed backup {old.name}")
        print(f"kept the {min(args.keep, len(pgbackup.backups(directory)))} newest backups")
    return 0


def list_cmd(args: argparse.Namespace, settings: Settings) -> int:
    directory = (args.directory or settings.backup_path).resolve()
    found = pgbackup.backups(directory)
    if not found:
        print(f"no backups in {directory}")
        return 0
    print(f"{'backup':<20} {'restorable from (UTC)':<26} {'size':>10}  WAL range")
    for b in found:
        print(
            f"{b.name:<20} {b.finished.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]:<26} "
            f"{_megabytes(b.size_bytes):>10}  {b.start_wal}..{b.end_wal}"
        )
    archive = settings.wal_archive_path
    segments = sorted(p.name for p in archive.glob("[0-9A-F]" * 24)) if archive.is_dir() else []
    if segments:
        print(f"WAL archive {archive}: {len(segments)} segments, {segments[0]}..{segments[-1]}")
    return 0


def choose(found: list[Backup], name: str | None, target: datetime | None) -> Backup:
    """The backup a restore starts from, or why there is none (nothing is changed yet)."""
    if not found:
        raise NotFound("there is no backup to restore from", code="backup.none")
    if name is not None:
        chosen = [b for b in found if b.name == name]
        if not chosen:
            raise NotFound(
                f"no backup named {name!r}",
                code="backup.not_found",
                name=name,
                available=[b.name for b in found],
            )
        backup = chosen[0]
    elif target is None:
        backup = found[-1]
    else:
        fitting = [b for b in found if b.finished <= target]
        backup = fitting[-1] if fitting else found[0]
    if target is not None and target < backup.finished:
        raise InvalidInput(
            f"{target.isoformat()} is before backup {backup.name} was complete "
            f"({backup.finished.isoformat()}): a restore can reach only later times",
            code="backup.target_before_backup",
            target=target.isoformat(),
            backup=backup.name,
            earliest=backup.finished.isoformat(),
        )
    return backup


def restore_cmd(args: argparse.Namespace, settings: Settings) -> int:
    _embedded(settings, "restore")
    cluster = cluster_for(settings)
    _initialised(cluster)
    target: datetime | None = args.to_time
    now = datetime.now(UTC)
    if target is not None and target > now:
        raise InvalidInput(
            f"{target.isoformat()} is in the future (it is {now.isoformat()} now)",
            code="backup.target_in_future",
            target=target.isoformat(),
            now=now.isoformat(),
        )
    directory = (args.directory or settings.backup_path).resolve()
    backup = choose(pgbackup.backups(directory), args.backup, target)
    try:
        pgbackup.verify(backup)
    except ClusterError as exc:
        raise InvalidInput(
            f"backup {backup.name} does not match its manifest, nothing was changed: {exc}",
            code="backup.damaged",
            backup=backup.name,
            reason=str(exc),
        ) from exc
    try:
        if not cluster.running():
            cluster.start()  # to archive what it wrote last (a lost cluster will not start)
    except ClusterError:
        print("the cluster does not start: restoring from what the archive holds")
    assert cluster.archive_dir is not None
    try:
        if cluster.running():
            if pgbackup.sql(cluster, "SHOW archive_mode") != "on" and target is not None:
                raise InvalidInput(
                    "the running server does not archive its WAL, so no time after a backup "
                    "can be reached: `cad db stop && cad db start` turns archiving on",
                    code="backup.archiving_off",
                )
            closed = pgbackup.archive_current(cluster, cluster.archive_dir)
            print(f"archived the WAL written until now (up to {closed})")
        restored = pgbackup.restore(cluster, backup, target, force=args.force)
    except ClusterError as exc:
        raise Unavailable(str(exc), code="backup.restore_failed", reason=str(exc)) from exc
    print(f"restored backup {backup.name} ({backup.finished.isoformat()})")
    print(f"  replayed the archived WAL up to {target.isoformat() if target else 'its end'}")
    if restored.salvaged:
        print(
            f"  and {restored.salvaged} WAL segments of the old data directory that were not "
            "archived yet"
        )
    for line in restored.recovery_log:
        print(f"  server: {line}")
    print(f"  promoted on timeline {restored.timeline} in {restored.seconds:.2f} s")
    if restored.moved_aside is not None:
        print(f"  the old data directory is kept in {restored.moved_aside}")
    else:
        print("  the old data directory was removed (--force)")
    print(asyncio.run(_after_restore(settings, backup, restored)))
    return 0


async def _after_restore(settings: Settings, backup: Backup, restored: pgbackup.Restored) -> str:
    """The audit chain now ends where it did at the target: move the later checkpoints aside,
    and record the restore in the chain."""
    key_file = settings.audit_path / "chain.key"
    if not key_file.exists():
        return "audit: no chain key here, nothing to rewind"
    async with engine_for(settings, admin=True) as engine:
        trail = AuditTrail(engine, settings, create_key=False)
        async with engine.connect() as conn:
            state = await audit.chain_state(conn)
            head = await conn.scalar(select(func.max(audit_log.c.seq)))
            await conn.rollback()
        head_seq = int(head) if head is not None else state.archived_upto
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        moved, aside = trail.checkpoints.rewind(state.chain, head_seq, f"before-restore-{stamp}")
        async with engine.begin() as conn:
            await audit.record(
                conn,
                actor="cad",
                action="database.restore",
                object_type="database",
                object_id="cad",
                source="cli",
                result="ok",
                detail={
                    "backup": backup.name,
                    "target": restored.target.isoformat() if restored.target else None,
                    "timeline": restored.timeline,
                    "chain_head": head_seq,
                    "checkpoints_moved": moved,
                },
            )
        await trail.seal()
    where = f" to {aside}" if aside else ""
    return (
        f"audit: the chain ends at row {head_seq}; {moved} checkpoints past it moved{where}; "
        "the restore is recorded in the audit log"
    )
