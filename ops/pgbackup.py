"""Base backups of the embedded cluster, and point-in-time restore from one and the WAL archive.

A backup is ``pg_basebackup`` of the running server in plain format with its WAL streamed
alongside (so it is consistent on its own), checked against its manifest with
``pg_verifybackup``, and written under a hidden name that is renamed only when complete: a
directory listed by ``backups`` is always whole. Our own ``cad-backup.json`` beside the manifest
says when it was taken, how large it is and which WAL it spans.

``restore`` puts a backup in place of the data directory (the old one is moved aside), tells
the server to replay the archived WAL (``restore_command``) up to a time, starts it and waits
until it has promoted. Which backup, and whether a time makes sense, the caller decides.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ops.pgcluster import DB_USER, Cluster, ClusterError, conf_string, find_bindir

log = logging.getLogger(__name__)

META = "cad-backup.json"
WAL_SEGMENT = 16 * 1024 * 1024  # initdb's default, which the embedded cluster keeps
_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Backup:
    """One complete backup directory and what ``take`` recorded of it."""

    path: Path
    started: datetime
    finished: datetime  # a restore can reach any time from here on
    size_bytes: int
    timeline: int
    start_lsn: str
    end_lsn: str
    start_wal: str
    end_wal: str
    seconds: float
    verified: bool

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Restored:
    """What ``restore`` did."""

    backup: Backup
    target: datetime | None
    moved_aside: Path | None  # None: the old data directory was removed (``force``)
    timeline: int
    seconds: float
    salvaged: int  # WAL segments of the old data directory that the archive did not have
    recovery_log: list[str]  # the server's own lines on where it stopped


def wal_file(timeline: int, lsn: str) -> str:
    """The name of the WAL segment holding ``lsn`` (``X/Y``)."""
    high, low = (int(part, 16) for part in lsn.split("/"))
    segment = ((high << 32) | low) // WAL_SEGMENT
    per_id = 0x1_0000_0000 // WAL_SEGMENT
    return f"{timeline:08X}{segment // per_id:08X}{segment % per_id:08X}"


def _client_env(cluster: Cluster) -> dict[str, str]:
    return {**os.environ, "PGPASSWORD": cluster.password(), "PGCONNECT_TIMEOUT": "10"}


def _program(argv: list[str], env: dict[str, str] | None = None) -> str:
    """Run a program of the server's (as ourselves); its output, or why it failed."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise ClusterError(f"{Path(argv[0]).name} failed: {result.stderr.strip()}")
    return result.stdout


def _client(cluster: Cluster, argv: list[str]) -> str:
    """Run a client program of the server's: it connects over TCP, as the superuser."""
    return _program(argv, _client_env(cluster))


def sql(cluster: Cluster, query: str) -> str:
    """One value from the server, as the superuser, through psql."""
    out = _client(
        cluster,
        [
            str(find_bindir() / "psql"),
            "-XAtq",
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.port),
            "-U",
            DB_USER,
            "-d",
            "postgres",
            "-c",
            query,
        ],
    )
    return out.strip()


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def take(cluster: Cluster, directory: Path) -> Backup:
    """A verified base backup of the running ``cluster`` into ``directory/<UTC time>``."""
    directory.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    name = started.strftime(_STAMP)
    n = 1
    while (directory / name).exists():  # two backups in one second
        n += 1
        name = f"{started.strftime(_STAMP)}-{n}"
    part = directory / f".{name}.part"
    shutil.rmtree(part, ignore_errors=True)
    bindir = find_bindir()
    clock = time.monotonic()
    try:
        _base_backup(cluster, part)
        finished = datetime.now(UTC)
        seconds = time.monotonic() - clock
        _client(cluster, [str(bindir / "pg_verifybackup"), "-q", str(part)])
    except ClusterError:
        shutil.rmtree(part, ignore_errors=True)  # nothing half-made stays behind
        raise
    ranges = json.loads((part / "backup_manifest").read_text())["WAL-Ranges"]
    timeline = int(ranges[-1]["Timeline"])
    start_lsn, end_lsn = str(ranges[0]["Start-LSN"]), str(ranges[-1]["End-LSN"])
    meta = {
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "size_bytes": _size(part),
        "timeline": timeline,
        "start_lsn": start_lsn,
        "end_lsn": end_lsn,
        "start_wal": wal_file(int(ranges[0]["Timeline"]), start_lsn),
        "end_wal": wal_file(timeline, end_lsn),
        "seconds": round(seconds, 3),
        "verified": True,
    }
    (part / META).write_text(json.dumps(meta, indent=2) + "\n")
    part.rename(directory / name)
    return _read(directory / name)


def verify(backup: Backup) -> None:
    """Check ``backup`` against its manifest (every file, its checksum, the WAL it needs);
    raises ClusterError saying what is wrong."""
    _program([str(find_bindir() / "pg_verifybackup"), "-q", "--ignore", META, str(backup.path)])


def _base_backup(cluster: Cluster, part: Path) -> None:
    _client(
        cluster,
        [
            str(find_bindir() / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.port),
            "-U",
            DB_USER,
            "--no-password",
            "-D",
            str(part),
            "-Fp",
            "-X",
            "stream",
            "--checkpoint=fast",
            "--manifest-checksums=CRC32C",
        ],
    )


def _read(path: Path) -> Backup:
    meta = json.loads((path / META).read_text())
    fields = {
        **meta,
        "path": path,
        "started": datetime.fromisoformat(meta["started"]),
        "finished": datetime.fromisoformat(meta["finished"]),
    }
    return Backup(**fields)


def backups(directory: Path) -> list[Backup]:
    """The complete backups in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    found = [
        _read(p)
        for p in directory.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / META).is_file()
    ]
    return sorted(found, key=lambda b: b.finished)


def prune(directory: Path, keep: int, archive: Path | None) -> list[Backup]:
    """Remove all but the ``keep`` newest backups, and the archived WAL only they needed."""
    if keep < 1:
        raise ValueError("keep at least one backup")
    every = backups(directory)
    removed = every[:-keep]
    for backup in removed:
        shutil.rmtree(backup.path)
    kept = every[-keep:]
    if removed and kept and archive is not None and archive.is_dir():
        _program([str(find_bindir() / "pg_archivecleanup"), str(archive), kept[0].start_wal])
    return removed


def archive_current(cluster: Cluster, archive: Path, timeout: float = 60.0) -> str | None:
    """Close the WAL segment being written and wait until the archive holds it, so that a
    restore can reach what was committed until now. Returns its name (None: nothing new)."""
    # A commit stamped now: recovery stops at the first commit past its target time, and
    # refuses to promote when it finds none (a centre quiet since the target).
    sql(cluster, "SELECT pg_current_xact_id()")
    segment = sql(cluster, "SELECT pg_walfile_name(pg_switch_wal())")
    deadline = time.monotonic() + timeout
    while not (archive / segment).exists():
        if time.monotonic() > deadline:
            failed = sql(cluster, "SELECT coalesce(last_failed_wal, '') FROM pg_stat_archiver")
            raise ClusterError(
                f"WAL segment {segment} did not reach the archive {archive} in {timeout:g} s"
                + (f" (the server failed to archive {failed})" if failed else "")
            )
        time.sleep(0.05)
    return segment


def _recovery_settings(archive: Path, target: datetime | None) -> str:
    lines = [
        "# written by cad restore; removed once the restored server has promoted",
        f"restore_command = {conf_string(f'cp {archive}/%f %p')}",
        "recovery_target_action = 'promote'",
        "recovery_target_timeline = 'latest'",
    ]
    if target is not None:
        lines.append(f"recovery_target_time = '{target.astimezone(UTC).isoformat()}'")
    return "\n".join(lines) + "\n"


def _place(backup: Backup, data: Path) -> None:
    shutil.copytree(backup.path, data, symlinks=True, ignore=shutil.ignore_patterns(META))
    data.chmod(0o700)
    for leftover in ("postmaster.pid", "recovery.signal", "standby.signal"):
        (data / leftover).unlink(missing_ok=True)


def _salvage(old_wal: Path, new_wal: Path, archive: Path) -> int:
    """Copy the segments the old server wrote but had not archived (its last ones, when it
    crashed or cannot start) to where recovery looks once the archive has no more. The
    archive is read first, and recovery checks each page's cluster and position, so a segment
    from elsewhere or recycled ahead of time ends the replay rather than corrupting it."""
    copied = 0
    for segment in sorted(old_wal.glob("[0-9A-F]" * 24)) if old_wal.is_dir() else []:
        if not (archive / segment.name).exists() and not (new_wal / segment.name).exists():
            shutil.copy2(segment, new_wal / segment.name)
            copied += 1
    return copied


def _recovery_lines(cluster: Cluster, since: int) -> list[str]:
    """The server log's lines on where recovery stopped, written after byte ``since``."""
    wanted = ("recovery stopping", "last completed", "selected new timeline", "redo done")
    text = _log_since(cluster, since)
    return [line.strip() for line in text.splitlines() if any(w in line for w in wanted)]


def _log_since(cluster: Cluster, since: int) -> str:
    try:
        with cluster.log_file.open("rb") as log_:
            log_.seek(since)
            return log_.read().decode(errors="replace")
    except OSError:
        return ""


def _wait_promoted(cluster: Cluster, since: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if sql(cluster, "SELECT pg_is_in_recovery()") == "f":
                return
        except ClusterError:
            if not cluster.running():
                tail = "\n".join(_log_since(cluster, since).splitlines()[-15:])
                raise ClusterError(f"the restored server stopped in recovery:\n{tail}") from None
        if time.monotonic() > deadline:
            raise ClusterError(f"the restored server did not finish recovery in {timeout:g} s")
        time.sleep(0.1)


def restore(
    cluster: Cluster,
    backup: Backup,
    target: datetime | None,
    *,
    force: bool = False,
    timeout: float = 300.0,
) -> Restored:
    """Stop the server, put ``backup`` in place (the old data directory moved aside, or with
    ``force`` removed once the restore worked), replay the archive and then the old server's
    unarchived WAL up to ``target`` (None: all of it), start, and wait for the promotion. On
    failure the old data directory comes back."""
    if cluster.archive_dir is None:
        raise ClusterError("this cluster has no WAL archive to restore from")
    clock = time.monotonic()
    cluster.stop()
    stamp = datetime.now(UTC).strftime(_STAMP)
    aside = cluster.root / f"data.before-restore-{stamp}"
    cluster.data.rename(aside)
    since = cluster.log_file.stat().st_size if cluster.log_file.exists() else 0
    try:
        _place(backup, cluster.data)
        salvaged = _salvage(aside / "pg_wal", cluster.data / "pg_wal", cluster.archive_dir)
        cluster.recovery_conf.write_text(_recovery_settings(cluster.archive_dir, target))
        (cluster.data / "recovery.signal").touch()
        cluster.start()
        _wait_promoted(cluster, since, timeout)
    except (ClusterError, OSError) as exc:
        try:
            _put_back(cluster, aside, stamp)
        except ClusterError as again:  # (it did not start before the restore either)
            raise ClusterError(
                f"the restore failed: {exc}\nthe old data directory is back in "
                f"{cluster.data} but does not start: {again}"
            ) from exc
        raise ClusterError(f"the restore failed, the old data directory is back: {exc}") from exc
    cluster.recovery_conf.unlink(missing_ok=True)
    timeline = int(sql(cluster, "SELECT pg_walfile_name(pg_current_wal_lsn())")[:8], 16)
    moved: Path | None = aside
    if force:
        shutil.rmtree(aside)
        moved = None
    return Restored(
        backup=backup,
        target=target,
        moved_aside=moved,
        timeline=timeline,
        seconds=time.monotonic() - clock,
        salvaged=salvaged,
        recovery_log=_recovery_lines(cluster, since),
    )


def _put_back(cluster: Cluster, aside: Path, stamp: str) -> None:
    """Undo a failed restore: its directory kept for a look, the old one started again."""
    try:
        cluster.stop()
    except ClusterError:
        log.exception("could not stop the server after the failed restore")
    if cluster.data.exists():
        cluster.data.rename(cluster.root / f"data.failed-restore-{stamp}")
    aside.rename(cluster.data)
    cluster.start()
