"""Reading a typed address query: house number, street words, place words, intersections.

Pure functions. A query is read several ways (:class:`~gis.geocode.model.Reading`), because text
like ``Feldstrasse 34 Triesen`` or ``12 Rue du 4 Septembre`` does not say which words are the
street; the search tries every reading and keeps the best-scoring answer.
"""

from __future__ import annotations

import re
import unicodedata

from gis.cn_address import has_cjk, parse_cn_address
from gis.cn_divisions import Divisions
from gis.errors import InvalidQueryError
from gis.geocode.callers import prepare
from gis.geocode.model import MAX_QUERY_CHARS, HouseNumber, ParsedQuery, Reading
from gis.normalize import fold

MAX_READINGS = 10

_SEGMENT_SPLIT = re.compile(r"[,;\n\r\t|]+")
_RANGE = re.compile(r"(\d)\s*[-–—]\s*(\d)")
_SUFFIX = re.compile(r"\b(\d{1,5})\s+([a-z])(?=\s|$)")
_HN_TOKEN = re.compile(r"^(\d{1,5})([a-z]{0,2})(?:([-/])(\d{1,5})([a-z]?))?$")
_POSTCODE = re.compile(r"^\d{4,5}$")
_CJK_NUMBER = re.compile(r"(\d+)\s*[号號]")
_CJK = re.compile(r"[\u3400-\u9fff]")

_WORD_SEPARATORS = re.compile(
    r"\s+(?:and|und|et|y|e|x|at|an der|with|corner|corner of|ecke|esq|esquina|angolo)\s+",
    re.IGNORECASE,
)
_SYMBOL_SEPARATORS = re.compile(r"\s*(?:&|/|\+|@|×|＆|／)\s*")
_CJK_JUNCTION = re.compile(
    r"^(.+?)(?:与|和|跟|及|同)(.+?)(?:交叉口|交叉路口|交口|路口|交汇处|口)?$"
)
_INTERSECTION_PREFIX = re.compile(
    r"^\s*(?:corner of|intersection of|junction of|kreuzung|ecke|esquina de|angolo)\s+",
    re.IGNORECASE,
)


def check_query(text: object) -> str:
    """The query trimmed, or :class:`InvalidQueryError` saying what is wrong with it."""
    if not isinstance(text, str):
        raise InvalidQueryError("the query must be text", code="geocode.query_not_text")
    stripped = " ".join(text.split())
    if not stripped:
        raise InvalidQueryError(
            "the query is empty: type an address, a place or coordinates",
            code="geocode.query_empty",
        )
    if len(stripped) > MAX_QUERY_CHARS:
        raise InvalidQueryError(
            f"the query is {len(stripped)} characters long; an address fits in {MAX_QUERY_CHARS}",
            code="geocode.query_too_long",
            length=len(stripped),
            max=MAX_QUERY_CHARS,
        )
    return stripped


def _fold_keep_numbers(segment: str) -> str:
    """Fold case and accents but keep ``-`` and ``/`` between digits (``52-58``, ``12/1``)."""
    text = _CJK_NUMBER.sub(r" \1 ", segment)
    text = _RANGE.sub(r"\1-\2", text)
    text = re.sub(r"(\d)\s*/\s*(\d)", r"\1/\2", text)
    parts = re.split(r"(\d+(?:[-/]\d+[a-zA-Z]?)?)", text)
    out: list[str] = []
    for part in parts:
        if part and part[0].isdigit():
            out.append(f" {part.lower()} ")
        else:
            out.append(" " + fold(part) + " ")
    folded = " ".join("".join(out).split())
    # ``12 a`` → ``12a`` (a lone letter after a number is its suffix)
    return _SUFFIX.sub(r"\1\2", folded)


def parse_housenumber(token: str) -> HouseNumber | None:
    """A house number token (``12``, ``12a``, ``52-58``, ``12/1``), None if it is none."""
    m = _HN_TOKEN.match(token)
    if not m:
        return None
    base = int(m.group(1))
    suffix = m.group(2) or ""
    range_end: int | None = None
    if m.group(3) == "-" and m.group(4):
        end = int(m.group(4))
        if end > base:
            range_end = end
    return HouseNumber(text=token, key=token, base=base, suffix=suffix, range_end=range_end)


def _is_number(token: str) -> bool:
    return _HN_TOKEN.match(token) is not None


def _words(tokens: list[str]) -> tuple[str, ...]:
    return tuple(t for t in tokens if t)


def _readings_of_segment(
    tokens: list[str], other_context: tuple[str, ...], postcode: str | None, other_numbers: int
) -> list[tuple[int, Reading]]:
    """Readings of the segment that holds the street, each with a rank (0 = most likely)."""
    out: list[tuple[int, Reading]] = []
    number_positions = [i for i, t in enumerate(tokens) if _is_number(t)]
    if not any(not _is_number(t) for t in tokens):
        return out

    def add(rank: int, street: list[str], hn_tok: str | None, ctx: list[str]) -> None:
        if not street or all(_is_number(t) for t in street):
            return
        pc = postcode
        ctx_words: list[str] = []
        unused = other_numbers
        for t in ctx:
            if pc is None and _POSTCODE.match(t):
                pc = t
            elif not _is_number(t):
                ctx_words.append(t)
            else:
                unused += 1
        hn = parse_housenumber(hn_tok) if hn_tok else None
        out.append(
            (rank, Reading(_words(street), hn, tuple(ctx_words) + other_context, pc, unused))
        )

    if not number_positions:
        add(0, tokens, None, [])
        for k in range(len(tokens) - 1, 0, -1):
            add(2 + len(tokens) - k, tokens[:k], None, tokens[k:])
        for k in range(1, len(tokens)):
            add(3 + k, tokens[k:], None, tokens[:k])
        return out
    for n, i in enumerate(number_positions[:3]):
        hn = tokens[i]
        before, after = tokens[:i], tokens[i + 1 :]
        if before and any(not _is_number(t) for t in before):
            # German style: street words, number, then place words
            add(n * 3, before, hn, after)
            for k in range(1, len(before)):
                add(n * 3 + 2 + k, before[k:], hn, before[:k] + after)
        if after and any(not _is_number(t) for t in after):
            # English/French style: number first, street words up to the next number
            stop = next((j for j, t in enumerate(after) if _POSTCODE.match(t)), len(after))
            street = after[:stop]
            rest = after[stop:]
            add(n * 3 + (0 if not before else 1), street, hn, rest + before)
            for k in range(len(street) - 1, 0, -1):
                add(n * 3 + 3 + len(street) - k, street[:k], hn, street[k:] + rest + before)
    # the numbers may belong to the street name (``Strasse des 17 Juni``)
    add(9, tokens, None, [])
    return out


def _split_intersection(text: str) -> tuple[str, str] | None:
    body = _INTERSECTION_PREFIX.sub("", text).strip()
    m = _CJK_JUNCTION.match(body)
    if m and _CJK.search(body):
        a, b = m.group(1).strip(), m.group(2).strip()
        if a and b:
            return a, b
    for pattern in (_SYMBOL_SEPARATORS, _WORD_SEPARATORS):
        parts = pattern.split(body, maxsplit=1)
        if len(parts) == 2:
            a, b = parts[0].strip(), parts[1].strip()
            letters_a = sum(ch.isalpha() for ch in a)
            letters_b = sum(ch.isalpha() for ch in b)
            if letters_a >= 2 and letters_b >= 2:
                return a, b
    return None


def _said_before(part: str, said: str) -> bool:
    """Whether a building part (``3层``) is already in the detail (as ``3楼``)."""
    m = re.match(r"[0-9A-Z]+", part)
    if m is None:
        return part in said
    return re.search(rf"(?<![0-9A-Z]){m.group(0)}\s*(?:楼|层|单元|室)", said) is not None


def parse_query(text: str, divisions: Divisions | None = None) -> ParsedQuery:
    """Read a query (already checked by :func:`check_query`) into its possible readings.

    ``divisions`` (China's national list) lets Chinese addresses be read by province, city and
    district names written without their suffix."""
    text = unicodedata.normalize("NFC", text)
    prepared = prepare(text)
    original, text = text, prepared.text
    detail = prepared.detail
    segments = [s.strip() for s in _SEGMENT_SPLIT.split(text) if s.strip()]
    folded_segments = [_fold_keep_numbers(s).split() for s in segments]
    folded_segments = [s for s in folded_segments if s]
    intersection: tuple[str, str] | None = None
    if segments:
        intersection = _split_intersection(segments[0])

    readings: list[tuple[int, Reading]] = []
    all_context: list[str] = []
    for si, tokens in enumerate(folded_segments[:3]):
        others = [t for j, seg in enumerate(folded_segments) if j != si for t in seg]
        postcode = next((t for t in others if _POSTCODE.match(t)), None)
        other_words = tuple(t for t in others if not _is_number(t))
        other_numbers = sum(1 for t in others if _is_number(t) and t != postcode)
        for rank, reading in _readings_of_segment(tokens, other_words, postcode, other_numbers):
            readings.append((rank + si * 4, reading))
        if si > 0:
            all_context.extend(t for t in tokens if not _is_number(t))
    if has_cjk(original):
        cn = parse_cn_address(original, divisions)
        if cn is not None:
            cn_detail = [
                f"{v}{suffix}"
                for v, suffix in (
                    (cn.community, ""),
                    (cn.building, "号楼"),
                    (cn.unit, "单元"),
                    (cn.floor, "层"),
                    (cn.room, "室"),
                )
                if v
            ]
            said = " ".join(detail)  # 3楼 taken out already: cn finds it again as floor 3
            cn_detail = [d for d in cn_detail if not _said_before(d, said)]
            detail = tuple(dict.fromkeys([*detail, *cn_detail]))
            places = tuple(
                fold(p) for p in (cn.district, cn.city, cn.province, cn.town) if p and fold(p)
            )
            if cn.road:
                number = parse_housenumber(cn.number) if cn.number else None
                readings.append((-1, Reading((fold(cn.road),), number, places)))
            elif cn.community:
                # a compound and its building: 阳光小区3号楼
                building = parse_housenumber(cn.building) if cn.building else None
                readings.append((-1, Reading((fold(cn.community),), building, places)))
            if cn.intersection is not None and intersection is None:
                intersection = cn.intersection
            all_context.extend(places)
    readings.sort(key=lambda r: r[0])
    unique: dict[Reading, None] = {}
    for _, reading in readings:
        unique.setdefault(reading, None)
        if len(unique) >= MAX_READINGS:
            break
    return ParsedQuery(
        text=text,
        folded=fold(text),
        readings=tuple(unique),
        intersection=intersection,
        context_words=tuple(all_context),
        detail=detail,
    )
