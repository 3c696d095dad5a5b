"""Which backup `cad restore` starts from, and the refusals decided before anything changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from command.cli.backup import choose
from command.errors import CadError
from ops.pgbackup import Backup, wal_file

T0 = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


def _backup(name: str, finished: datetime) -> Backup:
    return Backup(
        path=Path("/backups") / name,
        started=finished - timedelta(seconds=2),
        finished=finished,
        size_bytes=1,
        timeline=1,
        start_lsn="0/2000028",
        end_lsn="0/2000138",
        start_wal="000000010000000000000002",
        end_wal="000000010000000000000002",
        seconds=2.0,
        verified=True,
    )


OLD, NEW = _backup("old", T0), _backup("new", T0 + timedelta(hours=1))


def _code(found: list[Backup], name: str | None, target: datetime | None) -> str:
    with pytest.raises(CadError) as refused:
        choose(found, name, target)
    return refused.value.code


def test_the_newest_backup_before_the_target_is_chosen() -> None:
    assert choose([OLD, NEW], None, None) is NEW
    assert choose([OLD, NEW], None, T0 + timedelta(minutes=30)) is OLD
    assert choose([OLD, NEW], None, T0 + timedelta(hours=2)) is NEW
    assert choose([OLD, NEW], "old", T0 + timedelta(hours=2)) is OLD


def test_refusals() -> None:
    assert _code([], None, None) == "backup.none"
    assert _code([OLD, NEW], "gone", None) == "backup.not_found"
    assert _code([OLD, NEW], None, T0 - timedelta(seconds=1)) == "backup.target_before_backup"
    assert _code([OLD, NEW], "new", T0 + timedelta(minutes=1)) == "backup.target_before_backup"


def test_wal_file_names_the_segment_of_a_location() -> None:
    assert wal_file(1, "0/2000028") == "000000010000000000000002"
    assert wal_file(3, "1/FF000000") == "0000000300000001000000FF"
