"""The wording of every error and reason code, read from docs/errors.md (the translators' page).

Under ``## Errors`` each row is ``| `code` | HTTP | `param`, ... | meaning | zh-CN |``; under
``## Reasons`` the HTTP column is left out. A params cell without names (``-``) means none.
The consoles word an answer's ``code`` and ``params`` from the catalogue this builds
(``command.console_contract``); the error-code tests check the page against the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
_ROW = re.compile(r"^\| `([^`]+)` \|")


@dataclass(frozen=True)
class Row:
    section: str
    code: str
    status: int | None
    params: frozenset[str]
    meaning: str
    zh: str
    line: int

    @property
    def zh_placeholders(self) -> frozenset[str]:
        return frozenset(re.findall(r"\{(\w+)\}", self.zh))


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
        errors = section == "Errors"
        out.append(
            Row(
                section=section,
                code=match.group(1),
                status=int(cells[1]) if errors else None,
                params=frozenset(re.findall(r"`([^`]+)`", cells[2] if errors else cells[1])),
                meaning=cells[-2],
                zh=cells[-1],
                line=number,
            )
        )
    return out


def read(page: Path = PAGE) -> list[Row]:
    return rows(page.read_text(encoding="utf-8"))


def catalogue(found: list[Row]) -> dict[str, dict[str, str]]:
    """``{code: {"en": meaning, "zh-CN": wording}}``; the meaning column's backticks dropped."""
    return {
        row.code: {"en": row.meaning.replace("`", ""), "zh-CN": row.zh}
        for row in sorted(found, key=lambda r: r.code)
    }
