"""The in-memory search index of one region (pure: built from rows, no I/O).

Built once from the region's rows in PostGIS (see :mod:`gis.geocode.store`) and kept until the
region is re-imported. It holds:

* *name groups*: every street name (and ``addr:place`` name) by its normalised key, with the
  street rows of that name (one per jurisdiction) and its address points by house number;
* every reading of every name (abbreviations expanded, translations) → the groups it names,
  bucketed by key length for fast edit-distance candidates (rapidfuzz);
* landmarks and named places by every name they have, and by their words;
* the place words of the region (cities, districts, postcodes) to weigh the rest of a query;
* sorted keys for prefix search (type-ahead).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from rapidfuzz import process
from rapidfuzz.distance import OSA
from shapely import STRtree
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from gis.cn_address import has_cjk
from gis.errors import SnapshotMismatch
from gis.geocode.addresses import (
    AddressColumns,
    AddressTable,
    AddressTableBuilder,
    NumberLookup,
)
from gis.geocode.scoring import max_edits, name_similarity
from gis.geocode.snapshot import AddressSnapshot
from gis.geocode.words import (
    CONNECTORS,
    GENERIC_STREET_WORDS,
    concept,
    concept_key,
    distinctive_words,
    is_generic_place_word,
    join_phrases,
    pinyin_key,
)
from gis.normalize import (
    digraph_key,
    housenumber_base,
    housenumber_parts,
    key,
    name_keys,
    tokens,
)

PARTIAL_NAME = 0.9
"""Name similarity of a street named by its distinctive part alone (``Feldkircher`` for
Feldkircher Strasse): below the whole name, so a street called just that wins."""

PARTIAL_NAME_WITH_GENERIC = 0.95
"""... and when the query had a generic word of its own (``Rua Santa Catarina``)."""

KIND_MATCH = 0.85
"""Name similarity given to a place whose kind the query names ("Feuerwehr" → fire station)."""

KIND_WORDS: dict[str, str] = {
    digraph_key(w): kind
    for kind, words in {
        "amenity=fire_station": (
            "feuerwehr",
            "feuerwache",
            "firestation",
            "fire",
            "pompiers",
            "bombeiros",
            "bomberos",
            "vigili",
            "brandweer",
            "消防",
            "消防站",
            "消防队",
            "消防大队",
        ),
        "amenity=police": (
            "polizei",
            "police",
            "polizia",
            "policia",
            "politie",
            "派出所",
            "公安",
            "公安局",
            "警察",
        ),
        "amenity=hospital": (
            "spital",
            "krankenhaus",
            "klinik",
            "hospital",
            "hopital",
            "ospedale",
            "医院",
        ),
        "amenity=townhall": ("rathaus", "gemeindehaus", "townhall", "mairie", "市政府"),
        "amenity=pharmacy": ("apotheke", "pharmacy", "pharmacie", "farmacia", "药店"),
        "amenity=school": ("schule", "school", "ecole", "escola", "scuola", "学校"),
        "amenity=post_office": ("post", "postamt", "poste", "邮局"),
        "railway=station": ("bahnhof", "bhf", "gare", "estacao", "火车站"),
        "amenity=fuel": ("tankstelle", "加油站"),
    }.items()
    for w in words
}
"""Folded words that name a kind of place, in the languages callers use."""


@dataclass(frozen=True, slots=True)
class JurisdictionRow:
    id: int
    name: str
    names: dict[str, str]
    wkb: bytes


@dataclass(frozen=True, slots=True)
class StreetRow:
    id: int
    name: str
    names: dict[str, str]
    norm: str
    jurisdiction_id: int | None
    wkb: bytes
    lon: float
    lat: float
    areas: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AddressRow:
    id: int
    street: str | None
    place: str | None
    housenumber: str
    postcode: str | None
    city: str | None
    jurisdiction_id: int | None
    lon: float
    lat: float
    areas: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlaceRow:
    id: int
    name: str
    names: dict[str, str]
    kind: str
    jurisdiction_id: int | None
    lon: float
    lat: float
    street: str | None = None
    housenumber: str | None = None
    areas: tuple[str, ...] = ()


@dataclass(slots=True)
class StreetEntry:
    id: int
    name: str
    jurisdiction: str | None
    lon: float
    lat: float
    geom: BaseGeometry
    context: frozenset[str]


@dataclass(slots=True)
class AddressEntry:
    id: int
    street: str
    housenumber: str
    base: int | None
    postcode: str | None
    city: str | None
    jurisdiction: str | None
    lon: float
    lat: float
    context: frozenset[str]


@dataclass(slots=True)
class PlaceEntry:
    id: int
    name: str
    names: dict[str, str]
    kind: str
    jurisdiction: str | None
    lon: float
    lat: float
    context: frozenset[str]
    words: frozenset[str]
    street_words: frozenset[str] = frozenset()
    size: int = 1
    """Words of the main name (how much of it a query matched is measured against this)."""


@dataclass(slots=True)
class NameGroup:
    """Everything called by one street (or ``addr:place``) name.

    Its address points live in the region's :class:`AddressTable`, as the group's slices of it.
    """

    norm: str
    name: str
    ordinal: int = 0
    streets: list[StreetEntry] = field(default_factory=list)
    table: AddressTable | None = None

    @property
    def by_number(self) -> NumberLookup:
        """The group's points by house-number key."""
        return NumberLookup(self.table, self.ordinal)

    @property
    def numbered(self) -> list[AddressEntry]:
        """The group's points with a numeric base, by (base, house number)."""
        if self.table is None:
            return []
        return self.table.entries(self.table.numbered_rows(self.ordinal))

    @property
    def numbered_count(self) -> int:
        return 0 if self.table is None else self.table.numbered_count(self.ordinal)

    @property
    def weight(self) -> int:
        return self.numbered_count + len(self.streets)


def context_words(texts: Iterable[str | None]) -> frozenset[str]:
    """The matching keys of the words of place names (city, district, postcode)."""
    out: set[str] = set()
    for text in texts:
        if text:
            for word in tokens(text):
                out.add(digraph_key(word))
    return frozenset(out)


def _columns(rows: Sequence[AddressRow]) -> AddressColumns:
    """Address rows as columns (the form the index is built from)."""
    out = AddressColumns()
    for a in rows:
        out.ids.append(a.id)
        out.street.append(a.street)
        out.place.append(a.place)
        out.housenumber.append(a.housenumber)
        out.postcode.append(a.postcode)
        out.city.append(a.city)
        out.jurisdiction_id.append(a.jurisdiction_id)
        out.lon.append(a.lon)
        out.lat.append(a.lat)
        out.areas.append(a.areas)
    return out


def _add_partial(partial: dict[str, set[str]], name: str, norm: str) -> None:
    """Index a name by its distinctive part (and that part's pinyin for a Chinese name)."""
    if has_cjk(name):
        partial[pinyin_key(name)].add(norm)
    words = distinctive_words(name)
    if words:
        k = key(words)
        partial[k].add(norm)
        partial[digraph_key(k)].add(norm)


class _AreaLookup:
    """Names of the administrative areas (any level) containing points."""

    def __init__(self, boundaries: Sequence[tuple[str, bytes]]) -> None:
        self.names = [name for name, _ in boundaries]
        geoms = [shapely.from_wkb(wkb) for _, wkb in boundaries]
        self.tree = STRtree(geoms) if geoms else None

    def __call__(self, lons: Sequence[float], lats: Sequence[float]) -> list[tuple[str, ...]]:
        """The sorted names of the areas holding each point; one tuple per distinct answer
        (a city's million points share a few hundred)."""
        out: list[tuple[str, ...]] = [()] * len(lons)
        if self.tree is None or not len(lons):
            return out
        points = shapely.points(
            np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64)
        )
        hits = self.tree.query(points, predicate="intersects")
        order = np.lexsort((hits[1], hits[0]))
        shared: dict[tuple[int, ...], tuple[str, ...]] = {}
        current: list[int] = []
        last = -1
        for pi, gi in zip(hits[0][order].tolist(), hits[1][order].tolist(), strict=True):
            if pi != last:
                if current:
                    out[last] = self._names(current, shared)
                current, last = [], pi
            current.append(gi)
        if current:
            out[last] = self._names(current, shared)
        return out

    def _names(
        self, geoms: list[int], shared: dict[tuple[int, ...], tuple[str, ...]]
    ) -> tuple[str, ...]:
        found = shared.get(tuple(geoms))
        if found is None:
            found = shared[tuple(geoms)] = tuple(sorted({self.names[g] for g in geoms}))
        return found


_ALPHABET = 40
"""Columns of a key's letter histogram: a-z, 0-9, and four shared columns for other letters."""


def _column(ch: str) -> int:
    if "a" <= ch <= "z":
        return ord(ch) - 97
    if "0" <= ch <= "9":
        return 26 + ord(ch) - 48
    return 36 + ord(ch) % 4


def _histogram(text: str) -> np.ndarray[Any, np.dtype[np.int16]]:
    out = np.zeros(_ALPHABET, dtype=np.int16)
    for ch in text:
        out[_column(ch)] += 1
    return out


def _histograms(keys: list[str]) -> np.ndarray[Any, np.dtype[np.int16]]:
    """:func:`_histogram` of many keys of one length at once (a city has 100,000s)."""
    length = len(keys[0])
    codes = np.frombuffer("".join(keys).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    columns = np.where(
        (codes >= 97) & (codes <= 122),
        codes - 97,
        np.where((codes >= 48) & (codes <= 57), codes - 48 + 26, 36 + codes % 4),
    )
    rows = np.repeat(np.arange(len(keys), dtype=np.int64), length)
    counts = np.bincount(rows * _ALPHABET + columns, minlength=len(keys) * _ALPHABET)
    return counts.reshape(len(keys), _ALPHABET).astype(np.int16)


class _Bucket:
    """Keys of one length, with their letter histograms when there are many."""

    FILTER_FROM = 1500
    """Below this many keys a plain scan is faster than the histogram filter."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.histograms: np.ndarray[Any, np.dtype[np.int16]] | None = None
        if len(keys) >= self.FILTER_FROM:
            self.histograms = _histograms(keys)

    def candidates(self, query_hist: np.ndarray[Any, np.dtype[np.int16]], budget: int) -> list[str]:
        """Keys that may lie within ``budget`` edits: an edit moves at most two letter counts."""
        if self.histograms is None:
            return self.keys
        distance = np.abs(self.histograms - query_hist).sum(axis=1)
        return [self.keys[i] for i in np.flatnonzero(distance <= 2 * budget).tolist()]


class _FuzzyKeys:
    """Keys bucketed by length, for edit-distance lookups that only scan plausible lengths
    (and, in big regions, only keys whose letters could be ``budget`` edits away)."""

    def __init__(self, keys: Iterable[str]) -> None:
        buckets: dict[int, list[str]] = defaultdict(list)
        for k in keys:
            buckets[len(k)].append(k)
        self.buckets = {length: _Bucket(ks) for length, ks in buckets.items()}

    def near(self, query: str, limit: int = 12) -> list[tuple[str, int]]:
        """Keys within :func:`max_edits` of ``query`` (closest first)."""
        budget = max_edits(len(query))
        if budget == 0:
            return []
        choices: list[str] = []
        query_hist: np.ndarray[Any, np.dtype[np.int16]] | None = None
        for length in range(len(query) - budget, len(query) + budget + 1):
            bucket = self.buckets.get(length)
            if bucket is None:
                continue
            if bucket.histograms is not None and query_hist is None:
                query_hist = _histogram(query)
            if query_hist is None:
                choices.extend(bucket.keys)
            else:
                choices.extend(bucket.candidates(query_hist, budget))
        if not choices:
            return []
        found = process.extract(
            query, choices, scorer=OSA.distance, score_cutoff=budget, limit=limit
        )
        return [(choice, int(dist)) for choice, dist, _ in found]


class RegionIndex:
    """Search structures of one imported region."""

    def __init__(
        self,
        region: str,
        generation: int,
        jurisdictions: Sequence[JurisdictionRow],
        streets: Sequence[StreetRow],
        addresses: Sequence[AddressRow] | AddressColumns,
        places: Sequence[PlaceRow],
        boundaries: Sequence[tuple[str, bytes]] = (),
        snapshot: AddressSnapshot | None = None,
    ) -> None:
        """``snapshot``: the address table as built before (mapped from a file), used instead
        of ``addresses``; :class:`SnapshotMismatch` when its groups are not the streets' ones."""
        self.region = region
        cols = addresses if isinstance(addresses, AddressColumns) else _columns(addresses)
        areas_of = _AreaLookup(boundaries)
        street_areas = areas_of([s.lon for s in streets], [s.lat for s in streets])
        address_areas = areas_of(cols.lon, cols.lat)
        place_areas = areas_of([p.lon for p in places], [p.lat for p in places])
        self.generation = generation
        self.jurisdiction_names: dict[int, str] = {j.id: j.name for j in jurisdictions}
        juris_words: dict[int, frozenset[str]] = {
            j.id: context_words([j.name, *j.names.values()]) for j in jurisdictions
        }
        self._juris_geoms = [shapely.from_wkb(j.wkb) for j in jurisdictions]
        self._juris_list = list(jurisdictions)
        self._juris_tree = STRtree(self._juris_geoms) if self._juris_geoms else None
        self.groups: dict[str, NameGroup] = {}
        # built as sets, then frozen to tuples (a city has a million keys; a set costs 200 bytes)
        variant: dict[str, set[str]] = defaultdict(set)
        partial: dict[str, set[str]] = defaultdict(set)
        known: set[str] = set()
        context_cache: dict[tuple[Any, ...], frozenset[str]] = {}

        def ctx(
            jid: int | None, extra: tuple[str | None, ...], areas: tuple[str, ...]
        ) -> frozenset[str]:
            cache_key = (jid, extra, areas)
            found = context_cache.get(cache_key)
            if found is None:
                found = context_words([*extra, *areas]) | juris_words.get(jid or -1, frozenset())
                context_cache[cache_key] = found
                known.update(found)
            return found

        grouped: dict[tuple[str, str | None], NameGroup | None] = {}
        # the addresses' names in the order they first came: they number the groups after
        # the streets' (what a snapshot replays)
        address_names: list[str] = []

        def group(name: str, norm: str | None = None) -> NameGroup | None:
            # a name is read once, not once per address point (a city has a million)
            if (name, norm) in grouped:
                return grouped[(name, norm)]
            if norm is None:
                address_names.append(name)
            g = _group(name, norm)
            grouped[(name, norm)] = g
            return g

        def _group(name: str, norm: str | None) -> NameGroup | None:
            keys = name_keys(name)
            if not keys:
                return None
            norm = norm or keys[0]
            g = self.groups.get(norm)
            if g is None:
                g = NameGroup(norm=norm, name=name, ordinal=len(self.groups))
                self.groups[norm] = g
            for k in keys:
                variant[k].add(norm)
            _add_partial(partial, name, norm)
            return g

        numbers: dict[str, tuple[frozenset[str], int | None]] = {}

        def number_of(text: str) -> tuple[frozenset[str], int | None]:
            """The keys a house number is found by, and its base (read once per spelling)."""
            found = numbers.get(text)
            if found is None:
                keys = frozenset({*housenumber_parts(text), text.lower()})
                found = numbers[text] = (keys, housenumber_base(text))
            return found

        geoms = shapely.from_wkb([s.wkb for s in streets]) if streets else []
        for s, geom, s_areas in zip(streets, geoms, street_areas, strict=True):
            g = group(s.name, s.norm or None)
            if g is None:
                continue
            for other in s.names.values():
                for k in name_keys(other):
                    variant[k].add(g.norm)
                _add_partial(partial, other, g.norm)
            g.streets.append(
                StreetEntry(
                    id=s.id,
                    name=s.name,
                    jurisdiction=self.jurisdiction_names.get(s.jurisdiction_id or -1),
                    lon=s.lon,
                    lat=s.lat,
                    geom=geom,
                    context=ctx(s.jurisdiction_id, (), s_areas + s.areas),
                )
            )
        table = AddressTableBuilder()
        for i, a_areas in enumerate(address_areas):
            name = cols.street[i] or cols.place[i]
            if not name:
                continue
            g = group(name)
            if g is None:
                continue
            housenumber = cols.housenumber[i]
            number_keys, base = number_of(housenumber)
            jid = cols.jurisdiction_id[i]
            city, postcode = cols.city[i], cols.postcode[i]
            table.add(
                id=cols.ids[i],
                group=g.ordinal,
                street=name,
                housenumber=housenumber,
                keys=number_keys,
                base=base,
                postcode=postcode,
                city=city,
                jurisdiction=self.jurisdiction_names.get(jid or -1),
                context=ctx(jid, (city, postcode), a_areas + cols.areas[i]),
                lon=cols.lon[i],
                lat=cols.lat[i],
            )
        if snapshot is None:
            self.addresses = table.build(len(self.groups))
        else:
            for name in snapshot.names:
                group(name)
            if len(self.groups) != len(snapshot.group_norms) or any(
                a != b for a, b in zip(self.groups, snapshot.group_norms, strict=False)
            ):
                raise SnapshotMismatch(
                    f"the snapshot's name groups of region {region!r} are not its streets'",
                    code="geocode.snapshot_mismatch",
                    region=region,
                )
            for context in snapshot.table.contexts:
                known.update(context)
            self.addresses = snapshot.table
        self.address_names = tuple(address_names)
        """What a snapshot of this index keeps to make the same groups again."""
        self.from_snapshot = snapshot is not None
        for g in self.groups.values():
            g.table = self.addresses

        self.places: list[PlaceEntry] = []
        self.place_variants: dict[str, set[int]] = defaultdict(set)
        self.place_words: dict[str, set[int]] = defaultdict(set)
        for p, p_areas in zip(places, place_areas, strict=True):
            idx = len(self.places)
            all_names = [p.name, *p.names.values()]
            words: set[str] = set()
            # a compound holding a kind of place (Jubiläumskirche) counts as two words, so
            # that "church" matches a place called just Kirche better
            size = sum(
                2 if concept(w) is not None and not is_generic_place_word(w) else 1
                for w in join_phrases(tokens(p.name))
            )
            for n in all_names:
                for k in name_keys(n):
                    self.place_variants[k].add(idx)
                for w in join_phrases(tokens(n)):
                    wk = digraph_key(w)
                    words.add(wk)
                    if len(wk) >= 3:
                        self.place_words[wk].add(idx)
                    c = concept(w)
                    if c is not None:
                        # Kirche, church, iglesia ... meet under one key
                        words.add(concept_key(c))
                        self.place_words[concept_key(c)].add(idx)
            self.places.append(
                PlaceEntry(
                    id=p.id,
                    name=p.name,
                    names=p.names,
                    kind=p.kind,
                    jurisdiction=self.jurisdiction_names.get(p.jurisdiction_id or -1),
                    lon=p.lon,
                    lat=p.lat,
                    context=ctx(p.jurisdiction_id, (), p_areas + p.areas),
                    words=frozenset(words),
                    size=max(1, size),
                    street_words=frozenset(
                        digraph_key(w) for w in tokens(p.street or "") if len(w) >= 3
                    )
                    | frozenset(name_keys(p.street or "")[:1]),
                )
            )
        self.by_kind: dict[str, list[int]] = defaultdict(list)
        for i, place in enumerate(self.places):
            self.by_kind[place.kind].append(i)
        self.known_context = frozenset(known)
        vocabulary: set[str] = set(known) | GENERIC_STREET_WORDS | CONNECTORS
        names = {s.name for s in streets} | {n for s in streets for n in s.names.values()}
        names |= set(self.addresses.strings.strings[i] for i in np.unique(self.addresses.street))
        names |= {p.name for p in places}
        for name in names:
            vocabulary.update(tokens(name))
        self.vocabulary = frozenset(vocabulary)
        """Folded words the region's names use: what of a sentence may be its address."""
        self._known_list = sorted(known)
        self.variant_groups: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in variant.items()}
        self.partial_groups: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in partial.items()}
        self._street_fuzzy = _FuzzyKeys(self.variant_groups)
        self._partial_fuzzy = _FuzzyKeys(self.partial_groups)
        self._place_fuzzy = _FuzzyKeys(self.place_variants)
        # Prefix search: keys sorted by (key, kind, reference), each with its reference coded
        # as one int (a group's ordinal, or -1 - a place's index): no tuple per key is kept.
        self._group_norms = [g.norm for g in self.groups.values()]
        prefix: list[tuple[str, str, str]] = []
        for k, norms in self.variant_groups.items():
            for norm in norms:
                prefix.append((k, "g", norm))
        for k, idxs in self.place_variants.items():
            for i in idxs:
                prefix.append((k, "p", str(i)))
        words_prefix: list[tuple[str, str, str]] = []
        for g in self.groups.values():
            for w in tokens(g.name)[1:]:
                words_prefix.append((key([w]), "g", g.norm))
        for i, place in enumerate(self.places):
            for w in tokens(place.name)[1:]:
                words_prefix.append((key([w]), "p", str(i)))
        self._prefix_keys, self._prefix_refs = self._coded(prefix)
        self._words_prefix_keys, self._words_prefix_refs = self._coded(words_prefix)

    def _coded(
        self, entries: list[tuple[str, str, str]]
    ) -> tuple[list[str], np.ndarray[Any, np.dtype[np.int32]]]:
        entries.sort()
        keys = [e[0] for e in entries]
        refs = np.fromiter(
            (self.groups[r].ordinal if kind == "g" else -1 - int(r) for _, kind, r in entries),
            dtype=np.int32,
            count=len(entries),
        )
        return keys, refs

    def _ref(self, code: int) -> tuple[str, str]:
        return ("g", self._group_norms[code]) if code >= 0 else ("p", str(-1 - code))

    # --- lookups -----------------------------------------------------------------------------

    def match_groups(
        self,
        query_keys: Sequence[str],
        limit: int = 8,
        fuzzy: bool = True,
        partial_keys: Sequence[tuple[str, float]] = (),
    ) -> dict[str, float]:
        """Name groups whose names are close to any of the query's keys, with similarity.

        ``partial_keys`` are the query's distinctive parts (generic and connector words left
        out) with the similarity a street gets when its own distinctive part is that.
        """
        best: dict[str, float] = {}
        for k in query_keys:
            for norm in self.variant_groups.get(k, ()):
                best[norm] = 1.0
        # a name found as typed: no edit-distance scan (the costly part in a city of names)
        fuzzy = fuzzy and not best
        for k in query_keys[:3] if fuzzy else ():
            for choice, _dist in self._street_fuzzy.near(k, limit=limit * 2):
                sim = name_similarity(k, choice)
                for norm in self.variant_groups[choice]:
                    if sim > best.get(norm, 0.0):
                        best[norm] = sim
        for n, (k, weight) in enumerate(partial_keys):
            for norm in self.partial_groups.get(k, ()):
                if weight > best.get(norm, 0.0):
                    best[norm] = weight
            if not fuzzy or n > 0 or max(best.values(), default=0.0) >= weight:
                continue  # a misspelt distinctive part only when nothing better was found
            for choice, _dist in self._partial_fuzzy.near(k, limit=limit):
                sim = weight * name_similarity(k, choice)
                for norm in self.partial_groups[choice]:
                    if sim > best.get(norm, 0.0):
                        best[norm] = sim
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        return dict(ranked[:limit])

    def match_places(
        self, query_keys: Sequence[str], words: Sequence[str], fuzzy: bool = True
    ) -> dict[int, float]:
        """Places named like the query (any language), by similarity."""
        best: dict[int, float] = {}
        for k in query_keys:
            for i in self.place_variants.get(k, ()):
                best[i] = 1.0
        for k in query_keys[:2] if fuzzy else ():
            for choice, _dist in self._place_fuzzy.near(k, limit=10):
                sim = name_similarity(k, choice)
                for i in self.place_variants[choice]:
                    if sim > best.get(i, 0.0):
                        best[i] = sim
        # a word naming a kind of place ("Feuerwehr", "hospital", "消防站"); the other words
        # should then name the place or where it is ("Feuerwehr Vaduz")
        kinds = {KIND_WORDS[k] for k in (digraph_key(w) for w in words) if k in KIND_WORDS}
        if kinds:
            rest = [digraph_key(w) for w in words if digraph_key(w) not in KIND_WORDS]
            for kind in kinds:
                for i in self.by_kind.get(kind, ()):
                    place = self.places[i]
                    if rest:
                        hits = sum(
                            1
                            for w in rest
                            if w in place.context or w in place.words or w in place.street_words
                        )
                        sim = KIND_MATCH - 0.1 + 0.2 * hits / len(rest)
                    else:
                        sim = KIND_MATCH
                    if best.get(i, 0.0) < sim:
                        best[i] = sim
        # every query word in the name: a partial name ("Rathaus" for "Rathaus Vaduz"); a word
        # naming a kind of place matches that kind in any language ("church" for "Kirche")
        word_keys: list[str] = []
        for w in join_phrases([w for w in words if len(w) >= 3 or w[:1].isdigit()]):
            c = concept(w)
            word_keys.append(concept_key(c) if c is not None else digraph_key(w))
        if word_keys:
            sets = [self.place_words.get(w, set()) for w in word_keys]
            common = set.intersection(*sets) if sets else set()
            for i in sorted(common)[:200]:
                place = self.places[i]
                share = len(word_keys) / max(place.size, len(word_keys))
                sim = 0.55 + 0.4 * min(1.0, share)
                if sim > best.get(i, 0.0):
                    best[i] = sim
        return best

    def place_word(self, word_key: str) -> str:
        """The region's place word closest to ``word_key`` (a misspelt city), else itself."""
        if word_key in self.known_context:
            return word_key
        budget = max_edits(len(word_key))
        if budget == 0:
            return word_key
        found = process.extractOne(
            word_key, self._known_list, scorer=OSA.distance, score_cutoff=min(budget, 2)
        )
        return found[0] if found else word_key

    def jurisdiction_at(self, lon: float, lat: float) -> str | None:
        """Name of the jurisdiction containing the point, None outside all."""
        if self._juris_tree is None:
            return None
        hits = self._juris_tree.query(Point(lon, lat), predicate="intersects")
        if len(hits) == 0:
            return None
        return self._juris_list[int(hits[0])].name

    def prefix(self, compact: str, limit: int = 60) -> list[tuple[str, str]]:
        """References of names whose key (or a later word's key) starts with ``compact``."""
        out: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for keys, entries in (
            (self._prefix_keys, self._prefix_refs),
            (self._words_prefix_keys, self._words_prefix_refs),
        ):
            i = bisect.bisect_left(keys, compact)
            while i < len(keys) and keys[i].startswith(compact) and len(out) < limit:
                ref = self._ref(int(entries[i]))
                if ref not in seen:
                    seen.add(ref)
                    out.append(ref)
                i += 1
        return out
