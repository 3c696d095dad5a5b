"""What is known about an incident (``Situation``) and whether one condition holds for it, with
the values compared (pure).

Narrative words: English words are compared by their stem (``trapped``, ``traps`` and
``trapping`` are all ``trap``), Chinese text as written (it has no inflection), both after
NFKC folding (full-width letters, compatibility forms) and lower case.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from plans.model import (
    LEVEL_NAMES,
    Condition,
    CountCondition,
    HazmatCondition,
    LevelCondition,
    NearCondition,
    PriorityCondition,
    TimeCondition,
    TypesCondition,
    WordsCondition,
)

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Situation:
    """The facts of an incident that plans are matched against."""

    type_code: str
    priority: int
    response_level: int
    lon: float
    lat: float
    local_time: datetime
    narrative: str = ""
    jurisdiction: str | None = None
    casualties: int = 0
    trapped: int = 0
    hazmat: bool = False
    linked_calls: int = 0


@dataclass(frozen=True)
class ConditionResult:
    """One condition's outcome: held or not, what the plan asked and what the incident has."""

    kind: str
    held: bool
    required: bool
    weight: float
    expected: Any
    actual: Any

    def explain(self) -> str:
        verdict = "holds" if self.held else "does not hold"
        return f"{self.kind} {verdict}: wanted {self.expected}, found {self.actual}"


# --------------------------------------------------------------------------- words

_LATIN = re.compile(r"[a-zß-öø-ÿ][a-zß-öø-ÿ']*")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SUFFIXES = ("ings", "ing", "edly", "ed", "ies", "es", "s", "ly")


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def stem(word: str) -> str:
    """A light English stem: enough that inflected forms of one word meet."""
    w = fold(word).strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if suffix == "ies":
                w += "y"
            break
    # trapped -> trapp -> trap; running -> runn -> run
    if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "aeiousl":
        w = w[:-1]
    if len(w) >= 4 and w.endswith("e"):
        w = w[:-1]
    return w


@dataclass(frozen=True)
class NarrativeText:
    """A narrative made ready for word look-ups: its stems and its folded text (and the words
    already looked up, since many plans ask for the same ones)."""

    stems: frozenset[str]
    folded: str
    seen: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, text: str) -> NarrativeText:
        folded = fold(text)
        return cls(frozenset(stem(w) for w in _LATIN.findall(folded)), folded)

    def contains(self, word: str) -> bool:
        found = self.seen.get(word)
        if found is None:
            found = self.seen[word] = self._contains(word)
        return found

    def _contains(self, word: str) -> bool:
        folded = fold(word).strip()
        if _CJK.search(folded):
            return folded in self.folded
        parts = _LATIN.findall(folded)
        if len(parts) == 1:
            return stem(parts[0]) in self.stems
        # a phrase: every word present, in the folded text as written or by stem
        return folded in self.folded or all(stem(p) in self.stems for p in parts)


# --------------------------------------------------------------------------- evaluation


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def type_covers(code: str, type_code: str) -> bool:
    """``fire`` covers ``fire`` and ``fire.structure``, not ``firework``."""
    return type_code == code or type_code.startswith(code + ".")


def in_hours(hour: int, start: int, end: int) -> bool:
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def _result(c: Condition, held: bool, expected: Any, actual: Any) -> ConditionResult:
    return ConditionResult(c.kind, held, c.required, c.weight, expected, actual)


def evaluate(c: Condition, s: Situation, text: NarrativeText) -> ConditionResult:
    """Whether condition ``c`` holds for situation ``s`` (``text`` is its prepared narrative)."""
    if isinstance(c, TypesCondition):
        return _result(
            c, any(type_covers(code, s.type_code) for code in c.codes), list(c.codes), s.type_code
        )
    if isinstance(c, PriorityCondition):
        return _result(c, c.min <= s.priority <= c.max, f"{c.min}..{c.max}", s.priority)
    if isinstance(c, WordsCondition):
        found = [w for w in c.words if text.contains(w)]
        return _result(c, bool(found), list(c.words), found)
    if isinstance(c, NearCondition):
        metres = haversine_m(s.lon, s.lat, c.lon, c.lat)
        return _result(
            c, metres <= c.within_m, f"within {c.within_m:.0f} m of {c.place}", f"{metres:.0f} m"
        )
    if isinstance(c, TimeCondition):
        t = s.local_time
        held = (
            (c.hours is None or in_hours(t.hour, *c.hours))
            and (not c.weekdays or t.weekday() in c.weekdays)
            and (not c.months or t.month in c.months)
        )
        wanted = {
            "hours": None if c.hours is None else f"{c.hours[0]:02d}-{c.hours[1]:02d}",
            "weekdays": sorted(c.weekdays),
            "months": sorted(c.months),
        }
        return _result(c, held, wanted, t.strftime("%Y-%m-%d %H:%M %a"))
    if isinstance(c, CountCondition):
        value = int(getattr(s, c.kind))
        return _result(c, value >= c.at_least, f">= {c.at_least}", value)
    if isinstance(c, HazmatCondition):
        return _result(c, s.hazmat == c.present, c.present, s.hazmat)
    assert isinstance(c, LevelCondition)
    return _result(
        c,
        s.response_level <= c.at_least,
        f"level {LEVEL_NAMES[c.at_least]} or more serious",
        LEVEL_NAMES.get(s.response_level, str(s.response_level)),
    )
