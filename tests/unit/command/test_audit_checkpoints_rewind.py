"""After a restore to an earlier time, the checkpoints past the restored chain move aside."""

from __future__ import annotations

from pathlib import Path

from command.audit_checkpoints import Checkpoints
from command.audit_keys import ChainKey

CHAIN = "c0ffee"


def _written(tmp_path: Path, seqs: range) -> Checkpoints:
    checkpoints = Checkpoints(tmp_path, ChainKey(b"k" * 32))
    for seq in seqs:
        checkpoints.write(CHAIN, seq, f"{seq:064x}", 1, 0)
    return checkpoints


def test_the_checkpoints_past_the_head_move_aside_with_the_whole_file(tmp_path: Path) -> None:
    checkpoints = _written(tmp_path, range(1, 6))
    whole = checkpoints.path(CHAIN).read_text()
    moved, aside = checkpoints.rewind(CHAIN, 3, "before-restore-x")
    assert moved == 2
    assert aside is not None
    assert aside.read_text() == whole
    kept = [line.checkpoint for line in checkpoints.read(CHAIN)]
    assert [cp.seq for cp in kept if cp is not None] == [1, 2, 3]
    assert all(line.problem is None for line in checkpoints.read(CHAIN))


def test_nothing_moves_when_the_chain_reaches_every_checkpoint(tmp_path: Path) -> None:
    checkpoints = _written(tmp_path, range(1, 4))
    assert checkpoints.rewind(CHAIN, 3, "before-restore-x") == (0, None)
    assert checkpoints.rewind("no-such-chain", 0, "before-restore-x") == (0, None)
    assert not list(tmp_path.glob("*.before-restore-*"))
