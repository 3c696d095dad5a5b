"""Forward geocoding over a :class:`~gis.geocode.index.RegionIndex` (pure, no I/O).

Strategies, all tried, best score first: address points (exact number, number without suffix,
a number of a range), interpolation between neighbouring numbers of the same street, the street
itself, intersections of two streets, landmarks by any of their names. Coordinates are read
before any of this (see :mod:`gis.geocode.service`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

import shapely
from shapely.geometry import LineString, Point
from shapely.ops import nearest_points

from gis.cn_address import has_cjk
from gis.cn_divisions import Divisions
from gis.geocode import scoring
from gis.geocode.callers import address_spans
from gis.geocode.index import (
    PARTIAL_NAME,
    PARTIAL_NAME_WITH_GENERIC,
    AddressEntry,
    NameGroup,
    PlaceEntry,
    RegionIndex,
    StreetEntry,
)
from gis.geocode.model import (
    Candidate,
    HouseNumber,
    ParsedQuery,
    Reading,
    ReasonCode,
    Suggestion,
)
from gis.geocode.query import parse_query
from gis.geocode.words import distinctive_words, pinyin_key
from gis.normalize import digraph_key, key, name_keys, tokens

MAX_INTERPOLATION_GAP_M = 800.0
"""Neighbouring numbers further apart than this are not interpolated between."""

NEIGHBOUR_NUMBERS = 6
"""With a neighbour on one side only, use it when the number is at most this far away."""

INTERSECTION_TOLERANCE_M = 30.0

FUZZY_UNTIL = 0.85
"""Less likely readings are only searched by edit distance while nothing scored this well."""

SURE_ENOUGH = 0.97
"""A candidate this good (exact name and number, no disagreeing place) ends the search early."""

_LANDMARK_KIND_BONUS = {
    "emergency": 0.04,
    "amenity": 0.03,
    "place": 0.05,
    "tourism": 0.02,
    "historic": 0.02,
    "building": 0.01,
}


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_008.8 * math.hypot(x, y)


HOMOPHONE = 0.9
"""Name similarity of a Chinese name written with homophone characters."""


def _partial_keys(words: Sequence[str]) -> tuple[tuple[str, float], ...]:
    """The query's street words as a distinctive part (generic and connector words out)."""
    plain = [w for w in words if w]
    distinct = list(distinctive_words(" ".join(plain)))
    out: dict[str, float] = {}
    if any(has_cjk(w) for w in plain):
        # the same sounds written with other characters (同音字): the name by its pinyin
        out[pinyin_key("".join(plain))] = HOMOPHONE
    if distinct and distinct != plain:
        k = key(distinct)
        out[k] = PARTIAL_NAME_WITH_GENERIC
        out.setdefault(digraph_key(k), PARTIAL_NAME_WITH_GENERIC)
    k = key(plain)
    out.setdefault(k, PARTIAL_NAME)
    out.setdefault(digraph_key(k), PARTIAL_NAME)
    return tuple(out.items())


def _context_keys(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(digraph_key(w) for w in words if w)


def _label(street: str, number: str | None, postcode: str | None, place: str | None) -> str:
    head = f"{street} {number}" if number else street
    tail = " ".join(p for p in (postcode, place) if p)
    return f"{head}, {tail}" if tail else head


class _Search:
    """One query against one index: candidates are collected in ``out``, then ranked."""

    def __init__(self, index: RegionIndex, query: ParsedQuery) -> None:
        self.index = index
        self.query = query
        self.out: list[Candidate] = []
        self._group_cache: dict[tuple[str, ...], dict[str, float]] = {}
        self.unused = 0

    def context_keys(self, reading: Reading) -> tuple[str, ...]:
        words = [self.index.place_word(w) for w in _context_keys(reading.context_words)]
        if reading.postcode:
            words.append(reading.postcode)
        return tuple(words)

    # --- helpers -----------------------------------------------------------------------------

    def groups_for(self, words: Sequence[str], fuzzy: bool = True) -> dict[str, float]:
        cache_key = (*words, str(fuzzy))
        found = self._group_cache.get(cache_key)
        if found is None:
            found = self.index.match_groups(
                name_keys(" ".join(words)), fuzzy=fuzzy, partial_keys=_partial_keys(words)
            )
            self._group_cache[cache_key] = found
        return found

    def context(self, qctx: Sequence[str], cand: frozenset[str]) -> float:
        return scoring.context_score(qctx, cand, self.index.known_context)

    # --- address strategies ------------------------------------------------------------------

    def address(self, reading: Reading, rank: int) -> None:
        if not reading.street_words:
            return
        qctx = self.context_keys(reading)
        self.unused = reading.unused_numbers
        fuzzy = rank == 0 or self.best() < FUZZY_UNTIL
        for norm, sim in self.groups_for(reading.street_words, fuzzy).items():
            if sim < 0.6:
                continue
            group = self.index.groups[norm]
            hn = reading.housenumber
            if hn is None:
                stray = [w for w in reading.street_words if w[:1].isdigit()]
                if stray and not set(stray) <= set(tokens(group.name)):
                    # a number read as part of the name that the name does not have
                    self.street(
                        group,
                        sim,
                        qctx,
                        rank,
                        scoring.NUMBER_STREET_ONLY,
                        f"number {stray[0]} not found on {group.name}: the street is shown",
                    )
                else:
                    self.street(group, sim, qctx, rank, scoring.NO_NUMBER_ASKED, "")
                continue
            if self.numbered(group, hn, sim, qctx, rank):
                continue
            if not self.interpolate(group, hn, sim, qctx, rank):
                self.street(
                    group,
                    sim,
                    qctx,
                    rank,
                    scoring.NUMBER_STREET_ONLY,
                    f"number {hn.text} not found on {group.name}: the street is shown",
                )

    def numbered(
        self, group: NameGroup, hn: HouseNumber, sim: float, qctx: Sequence[str], rank: int
    ) -> bool:
        tries: list[tuple[str, float, str, ReasonCode | None]] = [
            (hn.key, scoring.NUMBER_EXACT, "", None)
        ]
        if hn.range_end is not None and hn.base is not None:
            tries.append(
                (
                    str(hn.base),
                    scoring.NUMBER_RANGE_PART,
                    f"first number of {hn.text}",
                    "range_first",
                )
            )
            tries.append(
                (
                    str(hn.range_end),
                    scoring.NUMBER_RANGE_PART - 0.02,
                    f"last number of {hn.text}",
                    "range_last",
                )
            )
        if hn.suffix and hn.base is not None:
            tries.append(
                (
                    str(hn.base),
                    scoring.NUMBER_WITHOUT_SUFFIX,
                    f"{hn.text} not found: {hn.base}",
                    "without_suffix",
                )
            )
        for number_key, fit, why, reason in tries:
            entries = group.by_number.get(number_key)
            if not entries:
                continue
            for cluster in _clusters(entries):
                self.add_address(_medoid(cluster), sim, fit, qctx, rank, why, cluster, reason)
            return True
        if hn.base is not None:
            # the same number with another letter (7b asked, 7a known): the same building lot
            same_base = [e for e in group.numbered if e.base == hn.base]
            for cluster in _clusters(same_base):
                e = _medoid(cluster)
                why = f"{hn.text} not found: {e.housenumber}"
                fit = scoring.NUMBER_WITHOUT_SUFFIX - 0.05
                self.add_address(e, sim, fit, qctx, rank, why, cluster, "other_letter")
            return bool(same_base)
        return False

    def add_address(
        self,
        e: AddressEntry,
        sim: float,
        fit: float,
        qctx: Sequence[str],
        rank: int,
        why: str,
        cluster: Sequence[AddressEntry] = (),
        reason: ReasonCode | None = None,
    ) -> None:
        context = e.context
        postcode, city = e.postcode, e.city
        for other in cluster:
            context = context | other.context
            postcode = postcode or other.postcode
            city = city or other.city
        score = scoring.combine(sim, fit, self.context(qctx, context), rank, self.unused)
        explanation = why or ("address point" if sim >= 1.0 else f"address point, name ~{sim:.2f}")
        reason = reason or ("address" if sim >= 1.0 else "address_fuzzy")
        self.out.append(
            Candidate(
                lat=e.lat,
                lon=e.lon,
                label=_label(e.street, e.housenumber, postcode, city or e.jurisdiction),
                score=score,
                kind="address",
                jurisdiction=e.jurisdiction,
                explanation=explanation,
                reason=reason,
                street=e.street,
                housenumber=e.housenumber,
                postcode=postcode,
                city=city or e.jurisdiction,
            )
        )

    def interpolate(
        self, group: NameGroup, hn: HouseNumber, sim: float, qctx: Sequence[str], rank: int
    ) -> bool:
        if hn.base is None or not group.numbered:
            return False
        n = hn.base
        parts: dict[str | None, list[AddressEntry]] = defaultdict(list)
        for e in group.numbered:
            parts[e.jurisdiction].append(e)
        found = False
        for jurisdiction, entries in parts.items():
            lower = [e for e in entries if e.base is not None and e.base < n]
            upper = [e for e in entries if e.base is not None and e.base > n]
            same_lower = [e for e in lower if (e.base or 0) % 2 == n % 2]
            same_upper = [e for e in upper if (e.base or 0) % 2 == n % 2]
            if same_lower and same_upper:
                lower, upper = same_lower, same_upper
            lo = max(lower, key=lambda e: e.base or 0) if lower else None
            hi = min(upper, key=lambda e: e.base or 0) if upper else None
            ctx = self.context(qctx, (lo or hi or entries[0]).context)
            city = (lo or hi or entries[0]).city or jurisdiction
            label = _label(group.name, hn.text, (lo or hi or entries[0]).postcode, city)
            if (
                lo is not None
                and hi is not None
                and lo.base is not None
                and hi.base is not None
                and _metres(lo.lon, lo.lat, hi.lon, hi.lat) <= MAX_INTERPOLATION_GAP_M
            ):
                t = (n - lo.base) / (hi.base - lo.base)
                lon, lat = self.along(group, jurisdiction, lo, hi, t)
                why = (
                    f"number {hn.text} not in the data: interpolated between "
                    f"{lo.housenumber} and {hi.housenumber}"
                )
                fit = scoring.NUMBER_INTERPOLATED
                reason: ReasonCode = "interpolated"
            else:
                near = [e for e in (lo, hi) if e is not None and e.base is not None]
                near = [e for e in near if abs((e.base or 0) - n) <= NEIGHBOUR_NUMBERS]
                if not near:
                    continue
                best = min(near, key=lambda e: abs((e.base or 0) - n))
                lon, lat = best.lon, best.lat
                why = f"number {hn.text} not in the data: next to number {best.housenumber}"
                fit = scoring.NUMBER_NEIGHBOUR
                reason = "next_number"
            found = True
            self.out.append(
                Candidate(
                    lat=lat,
                    lon=lon,
                    label=label,
                    score=scoring.combine(sim, fit, ctx, rank, self.unused),
                    kind="interpolated",
                    jurisdiction=jurisdiction,
                    explanation=why,
                    reason=reason,
                    street=group.name,
                    housenumber=hn.text,
                    city=city,
                )
            )
        return found

    def along(
        self,
        group: NameGroup,
        jurisdiction: str | None,
        lo: AddressEntry,
        hi: AddressEntry,
        t: float,
    ) -> tuple[float, float]:
        """The point a fraction ``t`` of the way from ``lo`` to ``hi``, measured along the street
        (keeping the houses' distance from it); straight between them without a street."""
        straight = (lo.lon + t * (hi.lon - lo.lon), lo.lat + t * (hi.lat - lo.lat))
        streets = [s for s in group.streets if s.jurisdiction == jurisdiction] or group.streets
        p_lo, p_hi = Point(lo.lon, lo.lat), Point(hi.lon, hi.lat)
        best: LineString | None = None
        for s in streets:
            for part in getattr(s.geom, "geoms", [s.geom]):
                if part.distance(p_lo) + part.distance(p_hi) < (
                    best.distance(p_lo) + best.distance(p_hi) if best is not None else math.inf
                ):
                    best = part
        if best is None or max(best.distance(p_lo), best.distance(p_hi)) > 0.001:
            return straight  # no street within about 100 m of both houses
        d_lo, d_hi = best.project(p_lo), best.project(p_hi)
        on_lo, on_hi = best.interpolate(d_lo), best.interpolate(d_hi)
        on = best.interpolate(d_lo + t * (d_hi - d_lo))
        off_x = (1 - t) * (lo.lon - on_lo.x) + t * (hi.lon - on_hi.x)
        off_y = (1 - t) * (lo.lat - on_lo.y) + t * (hi.lat - on_hi.y)
        return float(on.x + off_x), float(on.y + off_y)

    def street(
        self,
        group: NameGroup,
        sim: float,
        qctx: Sequence[str],
        rank: int,
        fit: float,
        why: str,
    ) -> None:
        entries: list[StreetEntry] = list(group.streets)
        if not entries and group.numbered:
            # a name known only from addresses (addr:place): their middle
            mid = group.numbered[len(group.numbered) // 2]
            self.out.append(
                Candidate(
                    lat=mid.lat,
                    lon=mid.lon,
                    label=_label(group.name, None, mid.postcode, mid.city or mid.jurisdiction),
                    score=scoring.combine(
                        sim, fit, self.context(qctx, mid.context), rank, self.unused
                    ),
                    kind="street",
                    jurisdiction=mid.jurisdiction,
                    explanation=why or "named place of addresses",
                    reason="number_not_found" if why else "addresses_place",
                    street=group.name,
                )
            )
            return
        for s in entries:
            self.out.append(
                Candidate(
                    lat=s.lat,
                    lon=s.lon,
                    label=_label(s.name, None, None, s.jurisdiction),
                    score=scoring.combine(
                        sim, fit, self.context(qctx, s.context), rank, self.unused
                    ),
                    kind="street",
                    jurisdiction=s.jurisdiction,
                    explanation=why or "street",
                    reason="number_not_found" if why else "street",
                    street=s.name,
                )
            )

    # --- intersections -----------------------------------------------------------------------

    def _street_part(self, text: str) -> tuple[list[tuple[str, float]], tuple[str, ...]]:
        """Best name groups for one side of an intersection, and words left over as places."""
        words = tokens(text)
        best: dict[str, float] = {}
        leftover: tuple[str, ...] = ()
        for k in range(len(words), 0, -1):
            found = self.groups_for(words[:k])
            if found and max(found.values()) > max(best.values(), default=0.0):
                best = found
                leftover = tuple(words[k:])
            if best and max(best.values()) >= 1.0:
                break
        ranked = sorted(best.items(), key=lambda kv: -kv[1])[:3]
        return ranked, leftover

    def intersection(self, a_text: str, b_text: str) -> None:
        self.unused = 0
        a_groups, a_rest = self._street_part(a_text)
        b_groups, b_rest = self._street_part(b_text)
        words = _context_keys((*self.query.context_words, *a_rest, *b_rest))
        qctx = tuple(self.index.place_word(w) for w in words)
        for a_norm, a_sim in a_groups:
            for b_norm, b_sim in b_groups:
                if a_norm == b_norm or min(a_sim, b_sim) < 0.7:
                    continue
                ga, gb = self.index.groups[a_norm], self.index.groups[b_norm]
                for sa in ga.streets:
                    for sb in gb.streets:
                        point = _meeting_point(sa, sb)
                        if point is None:
                            continue
                        lon, lat = point
                        ctx = self.context(qctx, sa.context | sb.context)
                        self.out.append(
                            Candidate(
                                lat=lat,
                                lon=lon,
                                label=f"{sa.name} / {sb.name}"
                                + (f", {sa.jurisdiction}" if sa.jurisdiction else ""),
                                score=scoring.combine(
                                    min(a_sim, b_sim), scoring.NO_NUMBER_ASKED, ctx
                                ),
                                kind="intersection",
                                jurisdiction=sa.jurisdiction,
                                explanation=f"where {sa.name} meets {sb.name}",
                                reason="intersection",
                                street=sa.name,
                            )
                        )

    # --- landmarks ---------------------------------------------------------------------------

    def landmarks(self) -> None:
        # a number the query had, even where a reading leaves it out, is not found in a place
        asked = next(
            (r.housenumber.text for r in self.query.readings if r.housenumber is not None), None
        )
        for rank, reading in enumerate(self.query.readings[:4]):
            words = list(reading.street_words)
            if reading.housenumber is not None:
                words = [*words, reading.housenumber.text]
            if not words:
                continue
            qctx = self.context_keys(reading)
            self.unused = reading.unused_numbers
            fuzzy = self.best() < FUZZY_UNTIL
            found = self.index.match_places(name_keys(" ".join(words)), words, fuzzy)
            numbers = [w for w in words if w[:1].isdigit()]
            number = numbers[0] if numbers else asked
            for i, sim in sorted(found.items(), key=lambda kv: -kv[1])[:10]:
                place = self.index.places[i]
                self.add_landmark(place, sim, qctx, rank, number)

    def add_landmark(
        self, place: PlaceEntry, sim: float, qctx: Sequence[str], rank: int, number: str | None
    ) -> None:
        bonus = _LANDMARK_KIND_BONUS.get(place.kind.split("=", 1)[0], 0.0)
        fit = scoring.NO_NUMBER_ASKED
        reason: ReasonCode = "landmark"
        explanation = f"{place.kind}" + ("" if sim >= 1.0 else f", name ~{sim:.2f}")
        if number is not None and number not in place.words:
            fit = scoring.NUMBER_STREET_ONLY  # the typed number names no part of the place
            reason = "place_only"
            explanation = f"{explanation}; number {number} not found: only the place is shown"
        context = self.context(qctx, place.context)
        places_named = [w for w in qctx if w in self.index.known_context]
        if places_named and not any(w in place.context for w in places_named):
            reason = "landmark_elsewhere"
            explanation = (
                f"{explanation}; it lies outside {' '.join(places_named)} named in the query"
            )
        score = scoring.combine(sim, fit, context, rank, self.unused)
        score = min(1.0, score + bonus) - 0.02  # a street or address of the same name wins
        where = place.jurisdiction
        self.out.append(
            Candidate(
                lat=place.lat,
                lon=place.lon,
                label=f"{place.name}, {where}" if where else place.name,
                score=max(0.0, score),
                kind="landmark",
                jurisdiction=place.jurisdiction,
                explanation=explanation,
                reason=reason,
                extra={"names": place.names} if place.names else {},
            )
        )

    # --- all ---------------------------------------------------------------------------------

    def best(self) -> float:
        return max((c.score for c in self.out), default=0.0)

    def run(self, limit: int, near: tuple[float, float] | None = None) -> list[Candidate]:
        numbered = any(r.housenumber is not None for r in self.query.readings[:1])
        for rank, reading in enumerate(self.query.readings):
            if rank > 0 and self.best() >= SURE_ENOUGH:
                break  # the plain reading found the address exactly: the rest cannot beat it
            self.address(reading, rank)
        if self.query.intersection is not None:
            self.intersection(*self.query.intersection)
        if not (numbered and self.best() >= SURE_ENOUGH):
            self.landmarks()
        if near is not None:
            self.out = _biased(self.out, near)
        return [self.annotate(c, numbered) for c in rank_candidates(self.out, limit)]

    def annotate(self, c: Candidate, numbered: bool) -> Candidate:
        """The candidate with ``extra``: ``exact`` (is it what was asked, at the precision
        asked?) and the floor/flat ``detail`` the caller gave."""
        extra = dict(c.extra)
        extra["exact"] = c.reason in EXACT_REASONS and not (
            numbered and c.kind in ("street", "landmark") and c.reason != "landmark"
        )
        if self.query.detail:
            extra["detail"] = ", ".join(self.query.detail)
        return replace(c, extra=extra)


EXACT_REASONS = frozenset(
    {
        "address",
        "address_fuzzy",
        "range_first",
        "range_last",
        "street",
        "intersection",
        "landmark",
        "coordinates",
    }
)
"""Reasons of a candidate that is what the query asked for (not a fallback to the street, the
town, a neighbouring number or a landmark elsewhere)."""


SAME_PLACE_M = 300.0
"""Points of one street and number closer than this are one address (entrances, shops)."""


def _clusters(entries: Sequence[AddressEntry]) -> list[list[AddressEntry]]:
    """Points of one street and number, grouped by jurisdiction and nearness."""
    clusters: list[list[AddressEntry]] = []
    for e in entries:
        for cluster in clusters:
            head = cluster[0]
            if (
                head.jurisdiction == e.jurisdiction
                and _metres(head.lon, head.lat, e.lon, e.lat) <= SAME_PLACE_M
            ):
                cluster.append(e)
                break
        else:
            clusters.append([e])
    return clusters


def _medoid(cluster: Sequence[AddressEntry]) -> AddressEntry:
    """The point of a cluster nearest to all the others (the first one of a tie)."""
    if len(cluster) <= 2:
        return cluster[0]
    return min(
        cluster,
        key=lambda e: sum(_metres(e.lon, e.lat, o.lon, o.lat) for o in cluster),
    )


def _unique(suggestions: list[Suggestion], limit: int) -> list[Suggestion]:
    seen: set[tuple[str, str | None]] = set()
    out: list[Suggestion] = []
    for s in suggestions:
        k = (s.text.casefold(), s.jurisdiction)
        if k not in seen:
            seen.add(k)
            out.append(s)
    return out[:limit]


def _meeting_point(a: StreetEntry, b: StreetEntry) -> tuple[float, float] | None:
    if a.geom.distance(b.geom) > 0.001:  # about 100 m: clearly apart
        return None
    crossing = a.geom.intersection(b.geom)
    if not crossing.is_empty:
        x, y = shapely.get_coordinates(crossing)[0]
        return float(x), float(y)
    pa, pb = nearest_points(a.geom, b.geom)
    if _metres(pa.x, pa.y, pb.x, pb.y) > INTERSECTION_TOLERANCE_M:
        return None
    return (pa.x + pb.x) / 2, (pa.y + pb.y) / 2


def rank_candidates(candidates: Iterable[Candidate], limit: int) -> list[Candidate]:
    """Best first; one candidate per spot and kind (within about 10 m)."""
    ordered = sorted(candidates, key=lambda c: -c.score)
    out: list[Candidate] = []
    seen: set[tuple[int, int, str]] = set()
    for c in ordered:
        spot = (round(c.lat * 10_000), round(c.lon * 10_000), c.kind)
        if spot in seen:
            continue
        seen.add(spot)
        out.append(c)
        if len(out) >= limit:
            break
    return out


NEAR_BONUS = 0.06
"""Most a candidate gains for lying at the ``near`` point (the caller's cell, say)."""

NEAR_SCALE_M = 2_000.0
"""The bonus falls to a third at this distance from ``near``."""


def _biased(candidates: list[Candidate], near: tuple[float, float]) -> list[Candidate]:
    lat, lon = near
    out = []
    for c in candidates:
        bonus = NEAR_BONUS * math.exp(-_metres(lon, lat, c.lon, c.lat) / NEAR_SCALE_M)
        out.append(replace(c, score=min(1.0, c.score + bonus)))
    return out


SPAN_SURE = 0.85
"""A part of a sentence naming an address point exactly this well ends the search."""

SPAN_MARGIN = 0.02
"""A part of a sentence is read instead of the whole text when it scores this much better."""


def search(
    index: RegionIndex,
    query: ParsedQuery,
    limit: int = 5,
    near: tuple[float, float] | None = None,
    divisions: Divisions | None = None,
) -> list[Candidate]:
    """Ranked candidates for a parsed query; ``near`` (lat, lon) favours what lies close to it
    when the text alone cannot decide (twin addresses in two towns, a landmark name).

    A sentence around the address (``Hilfe, wir wohnen am Brunnenweg 6 ...``) is also read part
    by part (:func:`~gis.geocode.callers.address_spans`); the best part wins and each of its
    candidates says which part was read (``extra["span"]``).
    """
    spans = address_spans(query.text, index.vocabulary)
    if not spans:
        return _Search(index, query).run(limit, near)
    # a sentence: its address-shaped parts first; a part found for sure ends the search
    best_span: list[Candidate] = []
    for span in spans:
        found = _Search(index, parse_query(span.text, divisions)).run(limit, near)
        if found and (not best_span or found[0].score > best_span[0].score):
            detail = {"detail": ", ".join(query.detail)} if query.detail else {}
            best_span = [replace(c, extra={**c.extra, "span": span.text, **detail}) for c in found]
            if found[0].score >= SURE_ENOUGH or (
                found[0].reason == "address" and found[0].score >= SPAN_SURE
            ):
                return best_span  # the exact name and number: no other part can do better
    whole = _Search(index, query).run(limit, near)
    if best_span and (not whole or best_span[0].score > whole[0].score + SPAN_MARGIN):
        return best_span
    return whole


def suggest(index: RegionIndex, text: str, limit: int = 10) -> list[Suggestion]:
    """Type-ahead: streets, addresses and landmarks whose names start like ``text``."""
    words = tokens(text)
    if not words:
        return []
    number: str | None = None
    if len(words) > 1 and words[-1][:1].isdigit():
        number = words[-1]
        words = words[:-1]
    elif len(words) > 1 and words[0][:1].isdigit():
        number = words[0]
        words = words[1:]
    compact = key(words)
    if not compact:
        return []
    refs = index.prefix(compact, limit=200)
    if not refs:
        refs = [("g", norm) for norm in index.match_groups(name_keys(" ".join(words)))]
    groups: list[NameGroup] = []
    places: list[PlaceEntry] = []
    for kind, ref in refs:
        if kind == "g":
            groups.append(index.groups[ref])
        else:
            places.append(index.places[int(ref)])
    groups.sort(key=lambda g: (not key(tokens(g.name)).startswith(compact), -g.weight, g.name))
    out: list[Suggestion] = []
    if number is not None:
        for g in groups[:3]:
            for e in g.numbered:
                if e.housenumber.lower().startswith(number):
                    out.append(
                        Suggestion(
                            text=f"{g.name} {e.housenumber}",
                            kind="address",
                            lat=e.lat,
                            lon=e.lon,
                            jurisdiction=e.jurisdiction,
                            detail=" ".join(x for x in (e.postcode, e.city) if x),
                        )
                    )
                    if len(out) >= limit:
                        return _unique(out, limit)
    for g in groups:
        if len(out) >= limit:
            break
        s = g.streets[0] if g.streets else None
        point = (
            (s.lon, s.lat) if s else (g.numbered[0].lon, g.numbered[0].lat) if g.numbered else None
        )
        if point is None:
            continue
        jurisdictions = sorted({x.jurisdiction for x in g.streets if x.jurisdiction})
        out.append(
            Suggestion(
                text=g.name,
                kind="street",
                lon=point[0],
                lat=point[1],
                jurisdiction=", ".join(jurisdictions) or None,
                detail=f"{len(g.numbered)} addresses" if g.numbered else "",
            )
        )
    places.sort(key=lambda p: (not key(tokens(p.name)).startswith(compact), p.name))
    for p in places:
        if len(out) >= limit:
            break
        out.append(
            Suggestion(
                text=p.name,
                kind="landmark",
                lat=p.lat,
                lon=p.lon,
                jurisdiction=p.jurisdiction,
                detail=p.kind,
            )
        )
    return _unique(out, limit)
