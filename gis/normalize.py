"""Text normalisation for matching names: case and accent folding, tokens, abbreviations, keys.

Pure functions, no I/O. The same functions normalise the imported data and the typed queries, so
that both meet in one space:

* :func:`fold` lower-cases, folds accents (``ä`` → ``a``, ``ß`` → ``ss``, ``ø`` → ``o``) and turns
  punctuation into spaces;
* :func:`name_variants` expands abbreviations towards their long forms (``str.`` → ``strasse``,
  ``St`` → ``street``/``saint``/``sankt``, ``Av.`` → ``avenue``/``avenida``, ``R.`` →
  ``rua``/``rue``) and yields every reading (a bounded handful);
* :func:`key` and :func:`name_keys` squeeze a reading into a compact matching key (no spaces or
  hyphens) so that ``Herzog-Wilhelm-Straße``, ``herzog wilhelm str.`` and
  ``Herzog Wilhelmstrasse`` meet; :func:`name_keys` adds the key with German umlaut digraphs
  (``ae``/``oe``/``ue``) reduced to the bare vowel, so ``Muenchen`` meets ``München``.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable

MAX_VARIANTS = 8
"""At most this many readings of one name (the product of ambiguous abbreviations is capped)."""

_SPECIAL = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ł": "l",
        "Ł": "l",
        "þ": "th",
        "Þ": "th",
        "ı": "i",
        "’": "",
        "'": "",
        "`": "",
        "´": "",
    }
)

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_UNDERSCORE = re.compile(r"_+")
_DIGRAPH = re.compile(r"(?<=[a-z])(ae|oe|ue)")


# Abbreviations with a dot inside the word (Italian, Spanish), expanded before folding.
_DOTTED = (
    (re.compile(r"\bp\.\s?(?:zza|za)\b", re.IGNORECASE), "piazza"),
    (re.compile(r"\bv\.\s?le\b", re.IGNORECASE), "viale"),
    (re.compile(r"\bc\.\s?so\b", re.IGNORECASE), "corso"),
    (re.compile(r"\bl\.\s?go\b", re.IGNORECASE), "largo"),
    (re.compile(r"\bv\.\s?lo\b", re.IGNORECASE), "vicolo"),
    (re.compile(r"\bstr\.\s?da\b", re.IGNORECASE), "strada"),
    (re.compile(r"\bc/\s?", re.IGNORECASE), "calle "),
)


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation as single spaces, trimmed."""
    if "." in text or "/" in text:
        for pattern, long_form in _DOTTED:
            text = pattern.sub(long_form, text)
    text = text.translate(_SPECIAL)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().translate(_SPECIAL)
    text = _NON_WORD.sub(" ", text)
    text = _UNDERSCORE.sub(" ", text)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Folded words of ``text``."""
    return fold(text).split()


# Abbreviations (folded, without the dot) and the long forms they stand for, in many languages.
# An abbreviation may stand for several words: every reading is tried.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    # German, Dutch
    "str": ("strasse", "straat"),
    "strs": ("strasse",),
    "g": ("gasse",),
    "pl": ("platz", "place", "plaza", "plein", "plac"),
    "ul": ("ulica",),
    "os": ("osiedle",),
    "nam": ("namesti",),
    "u": ("utca",),
    "gt": ("gate", "gata"),
    "st": ("street", "sankt", "saint"),
    "hl": ("heilige", "heiligen"),
    "bhf": ("bahnhof",),
    "prof": ("professor",),
    "ln": ("lane", "laan"),
    # English
    "ave": ("avenue",),
    "av": ("avenue", "avenida"),
    "avda": ("avenida",),
    "rd": ("road",),
    "blvd": ("boulevard",),
    "bd": ("boulevard",),
    "bvd": ("boulevard",),
    "dr": ("drive", "doctor", "doktor", "doutor"),
    "sq": ("square",),
    "ct": ("court",),
    "hwy": ("highway",),
    "pkwy": ("parkway",),
    "cres": ("crescent",),
    "tce": ("terrace",),
    "ter": ("terrace",),
    "cir": ("circle",),
    "mt": ("mount",),
    "ft": ("fort",),
    "ne": ("northeast", "ne"),
    "nw": ("northwest", "nw"),
    "se": ("southeast", "se"),
    "sw": ("southwest", "sw"),
    "gdns": ("gardens",),
    "gr": ("grove", "gracht"),
    "pde": ("parade",),
    "pk": ("park",),
    "hts": ("heights",),
    "est": ("estate", "east"),
    "n": ("north", "nord", "n"),
    "s": ("south", "sud", "sao", "san", "s"),
    "e": ("east", "est", "e"),
    "w": ("west", "w"),
    # French
    "r": ("rue", "rua"),
    "ste": ("sainte",),
    "ch": ("chemin",),
    "rte": ("route",),
    "imp": ("impasse",),
    "fbg": ("faubourg",),
    "qu": ("quai",),
    # Portuguese, Spanish, Italian
    "pca": ("praca",),
    "pc": ("praca",),
    "tv": ("travessa",),
    "trav": ("travessa",),
    "lgo": ("largo",),
    "lg": ("largo",),
    "al": ("alameda", "aleja", "allee"),
    "pso": ("paseo",),
    "po": ("paseo",),
    "ctra": ("carretera",),
    "cno": ("camino",),
    "rod": ("rodovia",),
    "fg": ("faubourg",),
    "pres": ("presidente",),
    "mal": ("marechal",),
    "alm": ("almirante",),
    "com": ("comendador",),
    "calc": ("calcada",),
    "estr": ("estrada",),
    "c": ("calle", "carrer"),
    "cl": ("calle", "close"),
    "cra": ("carrera",),
    "pza": ("piazza", "plaza"),
    "pta": ("praceta",),
    "v": ("via", "vej", "vagen"),
    "vle": ("viale",),
    "cso": ("corso",),
    "eng": ("engenheiro",),
    "gen": ("general",),
    "cel": ("coronel",),
    "sto": ("santo",),
    "sta": ("santa",),
}

# Abbreviated endings of compound words: ``Oberguferstr`` → ``Oberguferstrasse``.
SUFFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("str", ("strasse", "straat")),
    ("pl", ("platz", "plein")),
)


# Endings shortened with a dot (``Drottningg.``, ``Hauptw.``): only expanded when the dot says so.
DOTTED_SUFFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("g", ("gatan", "gata", "gade", "gasse", "gracht")),
    ("v", ("vagen", "vej", "veien", "vegen")),
    ("w", ("weg",)),
    ("pl", ("platz", "plein", "plass", "plads")),
    ("str", ("strasse", "straat", "straede")),
)


def _word_readings(word: str, dotted: bool = False) -> tuple[str, ...]:
    long_forms = ABBREVIATIONS.get(word)
    if long_forms is not None:
        return long_forms
    for ending, expansions in SUFFIXES:
        if len(word) > len(ending) + 2 and word.endswith(ending):
            stem = word[: -len(ending)]
            return (*(stem + e for e in expansions), word)
    if dotted:
        for ending, expansions in DOTTED_SUFFIXES:
            if len(word) > len(ending) + 2 and word.endswith(ending):
                stem = word[: -len(ending)]
                return (*(stem + e for e in expansions), word)
    return (word,)


_DOT_WORD = re.compile(r"(\w+)\.(?=\s|$|[-,;])")


def _dotted_words(text: str) -> set[str]:
    """Folded words written with a closing dot (abbreviated)."""
    return {fold(m.group(1)) for m in _DOT_WORD.finditer(text)}


def name_variants(text: str) -> list[list[str]]:
    """Readings of a name, as word lists: the folded words, each abbreviation expanded.

    The first reading expands every abbreviation to its first long form; at most
    :data:`MAX_VARIANTS` readings are returned.
    """
    words = tokens(text)
    if not words:
        return []
    dotted = _dotted_words(text) if "." in text else set()
    choices = [_word_readings(w, w in dotted) for w in words]
    out: list[list[str]] = []
    for combo in itertools.islice(itertools.product(*choices), MAX_VARIANTS):
        out.append(list(combo))
    return out


def key(words: Iterable[str]) -> str:
    """The compact matching key of a word list (no separators)."""
    return "".join(words)


def digraph_key(compact: str) -> str:
    """A key with German umlaut spellings reduced (``muenchen`` → ``munchen``)."""
    return _DIGRAPH.sub(lambda m: m.group(1)[0], compact)


def name_key(text: str) -> str:
    """The primary matching key of a name (first reading); empty for text without words."""
    readings = name_variants(text)
    return key(readings[0]) if readings else ""


def name_keys(text: str) -> list[str]:
    """Every matching key of a name, primary first, without duplicates."""
    seen: dict[str, None] = {}
    for reading in name_variants(text):
        seen.setdefault(key(reading), None)
    plain = key(tokens(text))
    if plain:
        seen.setdefault(plain, None)
    for k in list(seen):
        seen.setdefault(digraph_key(k), None)
    return list(seen)


_HN_DROP = re.compile(r"[^0-9a-z/\-]+")
_HN_BASE = re.compile(r"^(\d+)")


def housenumber_key(text: str) -> str:
    """A house number as matched: folded, no spaces (``12 A`` → ``12a``, ``52 - 58``)."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    return _HN_DROP.sub("", plain)


def housenumber_parts(text: str) -> list[str]:
    """The single numbers one data house number stands for (``12;14`` → ``12``, ``14``)."""
    parts = re.split(r"[;,]", text)
    out: list[str] = []
    for part in parts:
        k = housenumber_key(part)
        if k:
            out.append(k)
    return out


def housenumber_base(text: str) -> int | None:
    """The leading integer of a house number (``12a`` → 12), None when it has none."""
    match = _HN_BASE.match(housenumber_key(text))
    return int(match.group(1)) if match else None
