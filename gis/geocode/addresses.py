"""The address points of a region's index as flat columns (pure: no I/O).

A city holds a million address points; one Python object per point cost over a kilobyte each.
Here every point is one position in a few numpy arrays (ids, coordinates, house-number base,
indexes into one interned string table and one table of context word sets), and a name group
is a slice of two row orders (all its points in load order, and its numbered points by number).
:class:`~gis.geocode.index.AddressEntry` objects are made only for the few points a query reads.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gis.geocode.index import AddressEntry

NO_BASE = np.iinfo(np.int64).min
"""The base column's value for a house number without one (``A``, ``Ost``)."""

NO_STRING = -1
"""The string columns' value for no string (no postcode, no city, no jurisdiction)."""

IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(slots=True)
class AddressColumns:
    """The address rows of a region as parallel columns, as read from the database."""

    ids: array[int] = field(default_factory=lambda: array("q"))
    street: list[str | None] = field(default_factory=list)
    place: list[str | None] = field(default_factory=list)
    housenumber: list[str] = field(default_factory=list)
    postcode: list[str | None] = field(default_factory=list)
    city: list[str | None] = field(default_factory=list)
    jurisdiction_id: list[int | None] = field(default_factory=list)
    lon: array[float] = field(default_factory=lambda: array("d"))
    lat: array[float] = field(default_factory=lambda: array("d"))
    areas: list[tuple[str, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


class StringTable:
    """Every distinct string once, numbered in the order first seen."""

    def __init__(self) -> None:
        self._growing: list[str] = []
        self.strings: Sequence[str] = self._growing
        self._ids: dict[str, int] = {}

    @classmethod
    def frozen(cls, strings: Sequence[str]) -> StringTable:
        """A table of these strings, to read only (a snapshot's, decoded when read)."""
        table = cls()
        table.strings = strings
        return table

    def id(self, text: str | None) -> int:
        if text is None:
            return NO_STRING
        found = self._ids.get(text)
        if found is None:
            found = self._ids[text] = len(self._growing)
            self._growing.append(text)
        return found

    def get(self, sid: int) -> str | None:
        return None if sid == NO_STRING else self.strings[sid]

    def freeze(self) -> None:
        """Drop the lookup dict once nothing more is added (the list alone is read)."""
        self._ids = {}
        self._growing = []


class AddressTableBuilder:
    """Collects the points of a region's name groups, then freezes them into an
    :class:`AddressTable`."""

    def __init__(self) -> None:
        self.strings = StringTable()
        self.contexts: list[frozenset[str]] = []
        self._context_ids: dict[frozenset[str], int] = {}
        self.number_keys: dict[int, frozenset[str]] = {}
        # typed arrays, not lists: no int or float object per row while building
        self._cols: dict[str, array[Any]] = {
            **{name: array("q") for name in ("id", "base")},
            **{
                name: array("i")
                for name in (
                    "group", "street", "housenumber", "postcode", "city", "jurisdiction",
                    "context",
                )
            },
            **{name: array("d") for name in ("lon", "lat")},
        }  # fmt: skip

    def context_id(self, words: frozenset[str]) -> int:
        found = self._context_ids.get(words)
        if found is None:
            found = self._context_ids[words] = len(self.contexts)
            self.contexts.append(words)
        return found

    def add(
        self,
        *,
        id: int,
        group: int,
        street: str,
        housenumber: str,
        keys: frozenset[str],
        base: int | None,
        postcode: str | None,
        city: str | None,
        jurisdiction: str | None,
        context: frozenset[str],
        lon: float,
        lat: float,
    ) -> None:
        c = self._cols
        s = self.strings
        hn = s.id(housenumber)
        self.number_keys.setdefault(hn, keys)
        c["id"].append(id)
        c["group"].append(group)
        c["street"].append(s.id(street))
        c["housenumber"].append(hn)
        # a "number" too long for 64 bits is junk in the data: kept as a number without a base
        c["base"].append(NO_BASE if base is None or abs(base) >= 2**62 else base)
        c["postcode"].append(s.id(postcode))
        c["city"].append(s.id(city))
        c["jurisdiction"].append(s.id(jurisdiction))
        c["context"].append(self.context_id(context))
        c["lon"].append(lon)
        c["lat"].append(lat)

    def build(self, groups: int) -> AddressTable:
        c = self._cols
        ints = {name: np.frombuffer(c[name], dtype=np.int64).copy() for name in ("id", "base")}
        small = {
            name: np.frombuffer(c[name], dtype=np.int32).copy()
            for name in (
                "group", "street", "housenumber", "postcode", "city", "jurisdiction", "context",
            )
        }  # fmt: skip
        lon = np.frombuffer(c["lon"], dtype=np.float64).copy()
        lat = np.frombuffer(c["lat"], dtype=np.float64).copy()
        self._cols = {}
        self.strings.freeze()
        group = small["group"]
        # all points of a group in load order (what a house number finds, in that order)
        by_group = np.argsort(group, kind="stable").astype(np.int32)
        # numbered points of a group by (base, house number text), as the search walks them
        hn_rank = np.empty(len(self.strings.strings), dtype=np.int32)
        order = sorted(range(len(self.strings.strings)), key=self.strings.strings.__getitem__)
        hn_rank[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int32)
        has_base = np.flatnonzero(ints["base"] != NO_BASE)
        numbered = has_base[
            np.lexsort(
                (
                    hn_rank[small["housenumber"][has_base]],
                    ints["base"][has_base],
                    group[has_base],
                )
            )
        ].astype(np.int32)
        bounds = np.arange(groups + 1, dtype=np.int32)
        all_offsets = np.searchsorted(group[by_group], bounds).astype(np.int32)
        numbered_offsets = np.searchsorted(group[numbered], bounds).astype(np.int32)
        # house-number key -> the spellings it finds ("7" finds 7, 7a, 7-9 ...)
        spellings: dict[str, list[int]] = {}
        for sid, keys in self.number_keys.items():
            for k in keys:
                spellings.setdefault(k, []).append(sid)
        return AddressTable(
            ids=ints["id"],
            base=ints["base"],
            street=small["street"],
            housenumber=small["housenumber"],
            postcode=small["postcode"],
            city=small["city"],
            jurisdiction=small["jurisdiction"],
            context=small["context"],
            lon=lon,
            lat=lat,
            strings=self.strings,
            contexts=self.contexts,
            by_group=by_group,
            all_offsets=all_offsets,
            numbered=numbered,
            numbered_offsets=numbered_offsets,
            spellings={k: np.asarray(sorted(v), dtype=np.int32) for k, v in spellings.items()},
        )


@dataclass(frozen=True, slots=True)
class AddressTable:
    """The address points of a region, column by column, with each group's rows as slices."""

    ids: IntArray
    base: IntArray
    street: np.ndarray[Any, np.dtype[np.int32]]
    housenumber: np.ndarray[Any, np.dtype[np.int32]]
    postcode: np.ndarray[Any, np.dtype[np.int32]]
    city: np.ndarray[Any, np.dtype[np.int32]]
    jurisdiction: np.ndarray[Any, np.dtype[np.int32]]
    context: np.ndarray[Any, np.dtype[np.int32]]
    lon: FloatArray
    lat: FloatArray
    strings: StringTable
    contexts: list[frozenset[str]]
    by_group: np.ndarray[Any, np.dtype[np.int32]]
    all_offsets: np.ndarray[Any, np.dtype[np.int32]]
    numbered: np.ndarray[Any, np.dtype[np.int32]]
    numbered_offsets: np.ndarray[Any, np.dtype[np.int32]]
    spellings: dict[str, np.ndarray[Any, np.dtype[np.int32]]]

    def __len__(self) -> int:
        return len(self.ids)

    def nbytes(self) -> int:
        """Bytes held by the columns (the arrays, not the shared string table)."""
        arrays = (
            self.ids, self.base, self.street, self.housenumber, self.postcode, self.city,
            self.jurisdiction, self.context, self.lon, self.lat, self.by_group, self.numbered,
        )  # fmt: skip
        return sum(int(a.nbytes) for a in arrays)

    def entry(self, row: int) -> AddressEntry:
        """The point at ``row`` as an entry (made when a query reads it)."""
        from gis.geocode.index import AddressEntry

        s = self.strings
        base = int(self.base[row])
        return AddressEntry(
            id=int(self.ids[row]),
            street=s.strings[int(self.street[row])],
            housenumber=s.strings[int(self.housenumber[row])],
            base=None if base == NO_BASE else base,
            postcode=s.get(int(self.postcode[row])),
            city=s.get(int(self.city[row])),
            jurisdiction=s.get(int(self.jurisdiction[row])),
            lon=float(self.lon[row]),
            lat=float(self.lat[row]),
            context=self.contexts[int(self.context[row])],
        )

    def entries(self, rows: Sequence[int] | np.ndarray[Any, Any]) -> list[AddressEntry]:
        return [self.entry(int(r)) for r in rows]

    def group_rows(self, group: int) -> np.ndarray[Any, np.dtype[np.int32]]:
        return self.by_group[self.all_offsets[group] : self.all_offsets[group + 1]]

    def numbered_rows(self, group: int) -> np.ndarray[Any, np.dtype[np.int32]]:
        return self.numbered[self.numbered_offsets[group] : self.numbered_offsets[group + 1]]

    def numbered_count(self, group: int) -> int:
        return int(self.numbered_offsets[group + 1] - self.numbered_offsets[group])

    def with_number(self, group: int, number_key: str) -> list[AddressEntry]:
        """The group's points whose house number is found by ``number_key``, in load order."""
        sids = self.spellings.get(number_key)
        if sids is None:
            return []
        rows = self.group_rows(group)
        return self.entries(rows[np.isin(self.housenumber[rows], sids)])


class NumberLookup:
    """A group's points by house-number key, read from the table on demand."""

    __slots__ = ("group", "table")

    def __init__(self, table: AddressTable | None, group: int) -> None:
        self.table = table
        self.group = group

    def get(self, number_key: str) -> list[AddressEntry] | None:
        if self.table is None:
            return None
        return self.table.with_number(self.group, number_key) or None
