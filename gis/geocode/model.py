"""Value types of forward geocoding: what a query was read as, and the ranked candidates."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

MatchKind = Literal["address", "interpolated", "street", "intersection", "landmark", "coordinates"]

#: Why a candidate was found, as a stable code for consoles to word (docs/errors.md).
ReasonCode = Literal[
    "address",
    "address_fuzzy",
    "range_first",
    "range_last",
    "without_suffix",
    "other_letter",
    "interpolated",
    "next_number",
    "street",
    "number_not_found",
    "addresses_place",
    "intersection",
    "landmark",
    "place_only",
    "landmark_elsewhere",
    "coordinates",
]

MAX_QUERY_CHARS = 300
"""Longer text is no address: it is refused with a clear message."""


@dataclass(frozen=True, slots=True)
class HouseNumber:
    """A house number as typed: ``12a`` (base 12, suffix a), ``52-58`` (a range, base 52)."""

    text: str
    key: str
    base: int | None
    suffix: str = ""
    range_end: int | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """One way of reading an address query: which words name the street, which the place."""

    street_words: tuple[str, ...]
    housenumber: HouseNumber | None
    context_words: tuple[str, ...]
    postcode: str | None = None
    unused_numbers: int = 0


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A query split into the readings worth trying, and intersection parts if it names two."""

    text: str
    folded: str
    readings: tuple[Reading, ...]
    intersection: tuple[str, str] | None = None
    context_words: tuple[str, ...] = ()
    detail: tuple[str, ...] = ()
    """Floor, flat, entrance or room the caller gave (``2. Stock``): kept, not searched."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One answer: where, what it is, how sure (0..1) and why.

    ``explanation`` says why in English; ``reason`` is the same as a code for translated
    consoles (``ReasonCode``).
    """

    lat: float
    lon: float
    label: str
    score: float
    kind: MatchKind
    reason: ReasonCode
    jurisdiction: str | None = None
    explanation: str = ""
    street: str | None = None
    housenumber: str | None = None
    postcode: str | None = None
    city: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["score"] = round(self.score, 4)
        out["lat"] = round(self.lat, 7)
        out["lon"] = round(self.lon, 7)
        return out


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A type-ahead entry: the text to complete to, what it is, and where."""

    text: str
    kind: Literal["street", "address", "landmark"]
    lat: float
    lon: float
    jurisdiction: str | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
