"""The audit chain's key file: made once, read back by every process, whatever their order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from command import audit_keys
from command.errors import Unavailable


def test_a_missing_key_is_made_once_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "audit" / "chain.key"
    made = audit_keys.load(path, create=True)
    assert audit_keys.load(path, create=False).id == made.id
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in path.parent.iterdir()] == ["chain.key"]  # no file left behind


def test_two_servers_making_the_key_at_once_both_get_the_same_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second server makes its key while the first is between writing and linking its
    own: both start, with one key (they once shared a temporary file, and one failed)."""
    path = tmp_path / "chain.key"
    link = os.link
    seen: list[str] = []

    def link_after_another(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if not seen:
            seen.append("other")
            seen.append(audit_keys.load(path, create=True).id)  # the other server, meanwhile
        link(src, dst)

    monkeypatch.setattr(os, "link", link_after_another)
    first = audit_keys.load(path, create=True)
    assert first.id == seen[1]
    assert [p.name for p in tmp_path.iterdir()] == ["chain.key"]


def test_a_missing_key_is_refused_when_it_may_not_be_made(tmp_path: Path) -> None:
    with pytest.raises(Unavailable) as refused:
        audit_keys.load(tmp_path / "chain.key", create=False)
    assert refused.value.code == "audit.key_missing"
