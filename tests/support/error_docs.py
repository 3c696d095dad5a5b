"""The tables of docs/errors.md, read back for the error-code tests.

Under ``## Errors`` each row is ``| `code` | HTTP | `param`, ... | meaning | zh-CN |``; under
``## Reasons`` the HTTP column is left out. A params cell without names (``-``) means none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PATH = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
_ROW = re.compile(r"^\| `([^`]+)` \|")


@dataclass(frozen=True)
class Row:
    section: str
    code: str
    status: int | None
    params: frozenset[str]
    zh_placeholders: frozenset[str]
    line: int


def rows(text: str) -> list[Row]:
    section = ""
    out: list[Row] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("## "):
            section = line[3:].strip()
        match = _ROW.match(line)
        if not match:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        status = int(cells[1]) if section == "Errors" else None
        params = cells[2] if section == "Errors" else cells[1]
        out.append(
            Row(
                section,
                match.group(1),
                status,
                frozenset(re.findall(r"`([^`]+)`", params)),
                frozenset(re.findall(r"\{(\w+)\}", cells[-1])),
                number,
            )
        )
    return out


def read() -> list[Row]:
    return rows(PATH.read_text(encoding="utf-8"))
