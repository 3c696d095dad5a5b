"""Typed text as callers say it, made ready for address reading (pure).

A call-taker types what the caller says: ``Rua do Bonjardim, nº 727, 2º esq.``, ``Landstrasse,
Hausnr. 48``, ``11, Maximilianstraße``, ``Hilfe, wir wohnen am Brunnenweg 6, zweiter Stock``.
:func:`prepare` takes out what is not street, number or place and keeps it:

* floors, flats, entrances and rooms (``2. Stock``, ``segundo andar``, ``Top 4``, ``3楼``,
  ``2单元``) become the address *detail*, not a house number;
* house-number words (``nº``, ``n.º``, ``núm.``, ``no.``, ``Nr.``, ``Hausnr.``, ``#``) are dropped
  before their number;
* a number standing alone between commas joins the street next to it.

:func:`address_spans` then offers the address-shaped parts of a longer sentence, each to be
searched on its own; the search keeps the best and says which part it read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ORDINAL_WORDS = (
    r"erste[rnms]?|zweite[rnms]?|dritte[rnms]?|vierte[rnms]?|funfte[rnms]?|fünfte[rnms]?"
    r"|sechste[rnms]?|siebte[rnms]?|achte[rnms]?|first|second|third|fourth|fifth|sixth"
    r"|primeiro|segundo|terceiro|quarto|quinto|sexto|primer|primero|tercer|tercero|cuarto"
    r"|premier|deuxième|deuxieme|troisième|troisieme|quatrième|primo|secondo|terzo|quarto"
    r"|primera|segona|tercera|quarta|primeira|segunda|terceira"
)
_FLOOR_WORDS = (
    r"stock|stockwerk|og|obergeschoss|ug|etage|étage|floor|fl|andar|piso|planta|pis|piano"
)
_UNIT_WORDS = (
    r"top|whg|wohnung|tür|tuer|apt|apartment|flat|unit|suite|stiege|eingang|entrance|"
    r"escalera|esc|porta|puerta|staircase|room|zimmer|raum|block|bloco|bloque|bl"
    r"|appartement|appt|bâtiment|batiment|bat|interno|int|scala"
)
_DETAIL_PATTERNS = (
    # floor 2, Top 4, Wohnung 12, Eingang B, apt 5 (first: in "Tal 15 piso 3" the 3 is the
    # floor and 15 the house number)
    re.compile(
        rf"\b(?:{_FLOOR_WORDS}|{_UNIT_WORDS})\b\.?\s*(?:nr\.?\s*|n[º°]\s*|#\s*)?"
        rf"(?:\d{{1,4}}[a-z]?|[a-z])\b",
        re.IGNORECASE,
    ),
    # 2. Stock, 3rd floor, 1er étage, 2º andar, 3. OG
    re.compile(
        rf"(?<![\w.])\d{{1,2}}\s*(?:\.|º|ª|°|st|nd|rd|th|er|re|e|ème|eme|o|a)?\s*"
        rf"(?:{_FLOOR_WORDS})\b\.?",
        re.IGNORECASE,
    ),
    # zweiter Stock, segundo andar, first floor
    re.compile(rf"\b(?:{_ORDINAL_WORDS})\s+(?:{_FLOOR_WORDS})\b", re.IGNORECASE),
    # 2º esq., 3º dto, 1ª izq (Portuguese and Spanish flats)
    re.compile(
        r"(?<![\w.])\d{1,2}\s*[º°ª]\s*(?:esq|dto|dt|dir|drt|izq|izda|dcha|dcho|frente|fte|"
        r"tras|[a-f])\b\.?",
        re.IGNORECASE,
    ),
    re.compile(r"(?<![\w.])\d{1,2}\s*[º°ª](?=\s|,|$)"),
    # 3楼, 12层, 2单元, 501室 (not 5号楼: a building number)
    re.compile(r"(?<![\d号])\d{1,4}\s*(?:楼|层|单元|室)"),
)

_NUMBER_WORD = re.compile(
    r"(?:(?<=[\s,;])|^)(?:n\.\s*[º°o]|n[º°]|nr|núm|num|no|nro|número|numero|numéro|"
    r"hausnr|hausnummer|haus-nr|hnr)\.?\s*(?=\d)"
    r"|#\s*(?=\d)",
    re.IGNORECASE,
)
_PINYIN_HAO = re.compile(r"(\d)\s*hao\b", re.IGNORECASE)
"""``12 hao`` (号 in pinyin) after a number."""
_LONE_NUMBER = re.compile(r"^\d{1,5}\s*[a-zA-Z]?(?:\s*[-/]\s*\d{1,5}[a-zA-Z]?)?\s*[号號]?$")
_SPLIT = re.compile(r"([,;\n]+)")


@dataclass(frozen=True, slots=True)
class Prepared:
    """What to read as the address, and the floor/flat/entrance detail taken out of it."""

    text: str
    detail: tuple[str, ...] = ()


def _tidy(text: str) -> str:
    text = re.sub(r"\s+([,;])", r"\1", text)
    text = re.sub(r"([,;])(?:\s*[,;])+", r"\1", text)
    return " ".join(text.split()).strip(" ,;")


def prepare(text: str) -> Prepared:
    """The text with floors/flats taken out as detail, number words dropped, lone numbers
    joined to their street."""
    detail: list[str] = []
    work = text.replace("，", ",").replace("、", ",")
    for pattern in _DETAIL_PATTERNS:

        def keep(m: re.Match[str]) -> str:
            detail.append(" ".join(m.group(0).split()))
            return " "

        work = pattern.sub(keep, work)
    work = _NUMBER_WORD.sub(" ", work)
    work = _PINYIN_HAO.sub(r"\1", work)
    parts = [p.strip() for p in _SPLIT.split(work)]
    segments = [p for i, p in enumerate(parts) if i % 2 == 0]
    segments = [s for s in segments if s]
    merged: list[str] = []
    i = 0
    while i < len(segments):
        seg = segments[i]
        if _LONE_NUMBER.match(seg):
            has_letters = [any(ch.isalpha() for ch in s) for s in segments]
            if merged and has_letters[i - 1] and not re.search(r"\d", merged[-1]):
                merged[-1] = f"{merged[-1]} {seg}"  # Landstrasse, 48 → Landstrasse 48
                i += 1
                continue
            if i + 1 < len(segments) and has_letters[i + 1]:
                merged.append(f"{seg} {segments[i + 1]}")  # 11, Maximilianstraße
                i += 2
                continue
        merged.append(seg)
        i += 1
    out = _tidy(", ".join(merged))
    if not any(ch.isalnum() for ch in out):
        return Prepared(text=_tidy(text), detail=())
    return Prepared(text=out, detail=tuple(detail))


SENTENCE_WORDS = 6
"""Text of more words than this may be a sentence around the address."""

SPAN_BEFORE = 5
SPAN_AFTER = 3


@dataclass(frozen=True, slots=True)
class Span:
    """Part of a sentence that may be the address: its text, and where its number stands."""

    text: str
    start: int
    end: int


_WORD = re.compile(r"[^\s,;.!?:()\"]+")


def address_spans(text: str, known: frozenset[str] | None = None) -> list[Span]:
    """Address-shaped parts of a sentence: the words before each number (the street, German
    and Romance style) with the place words after it, and the words after a number (English and
    French style). ``known`` (folded words the region's names use) trims words no name has.
    Empty for short text, or text without a number."""
    from gis.normalize import fold

    words = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text)]
    if len(words) <= SENTENCE_WORDS:
        return []
    spans: list[Span] = []

    def known_word(w: str) -> bool:
        return known is None or fold(w) in known or any(ch.isdigit() for ch in w)

    for i, (w, _, _) in enumerate(words):
        if not re.match(r"^\d{1,5}[a-zA-Z]?(?:[-/]\d{1,5})?$", w):
            continue
        # street words before the number: the nearest always, then further known ones
        lo = i - 1
        while lo - 1 >= 0 and i - (lo - 1) <= SPAN_BEFORE and known_word(words[lo - 1][0]):
            lo -= 1
        hi = i
        while hi + 1 < len(words) and hi + 1 - i <= SPAN_AFTER and known_word(words[hi + 1][0]):
            hi += 1
        if lo >= 0:
            spans.append(Span(text[words[lo][1] : words[hi][2]], words[lo][1], words[hi][2]))
            if hi > i:
                spans.append(Span(text[words[lo][1] : words[i][2]], words[lo][1], words[i][2]))
        if i + 1 < len(words):
            end = min(len(words) - 1, i + SPAN_BEFORE)
            while end > i + 1 and not known_word(words[end][0]):
                end -= 1
            spans.append(Span(text[words[i][1] : words[end][2]], words[i][1], words[end][2]))
    unique: dict[str, Span] = {}
    for s in spans:
        unique.setdefault(s.text, s)
    return list(unique.values())[:8]
