"""A region's built address table as one file that every process maps instead of building.

A city's address side is a million rows of flat columns (:mod:`gis.geocode.addresses`). The
first process to build a region's index writes them here, keyed by the region's import stamp
(generation and import time): the columns as raw arrays, each string table as one offsets array
and one UTF-8 blob, plus the order in which the addresses named their groups (so a process that
maps the file makes the same groups with the same numbers). Other processes, and the next
start, map the file read-only: the columns are shared between processes through the page cache.

The file is written to a temporary name, synced and renamed, so a reader sees all of it or
none. It starts with a header (magic, version, region, stamp, each array's place and size, the
payload's length and CRC-32); a file whose header, size or checksum does not match is refused
(:func:`load_snapshot` returns None) and the caller builds from the database and writes it anew.
What stays Python objects when mapped: the distinct context word sets and the house-number
spellings (a few thousand), decoded at load; strings are decoded when a query reads them.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from gis.geocode.addresses import AddressTable, StringTable

log = logging.getLogger(__name__)

MAGIC = b"CADGIX\x00\x01"
VERSION = 1
ALIGN = 64
SUFFIX = ".gix"
_CONTEXT_SEP = "\x1f"
_CRC_CHUNK = 1 << 24

_COLUMNS = (
    "ids", "base", "street", "housenumber", "postcode", "city", "jurisdiction", "context",
    "lon", "lat", "by_group", "all_offsets", "numbered", "numbered_offsets",
)  # fmt: skip
_TABLES = ("strings", "contexts", "spelling_keys", "names", "group_norms")


class BlobStrings(Sequence[str]):
    """Strings stored as UTF-8 in one buffer, decoded one at a time when read."""

    def __init__(self, offsets: np.ndarray[Any, Any], blob: np.ndarray[Any, Any]) -> None:
        self._offsets = offsets
        self._blob = blob

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        start, end = int(self._offsets[i]), int(self._offsets[i + 1])
        return bytes(self._blob[start:end]).decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))


def _encode(strings: Sequence[str]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    data = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in data], out=offsets[1:])
    return offsets, np.frombuffer(b"".join(data), dtype=np.uint8)


@dataclass(frozen=True)
class AddressSnapshot:
    """A mapped address table and the address names in the order they made their groups."""

    table: AddressTable
    names: Sequence[str]
    group_norms: Sequence[str]


def snapshot_path(directory: Path, region: str, stamp: str) -> Path:
    """Where the snapshot of ``region`` at import ``stamp`` lives (region names hold no ``@``)."""
    return directory / f"{region}@{stamp}{SUFFIX}"


def write_snapshot(
    path: Path,
    region: str,
    stamp: str,
    table: AddressTable,
    names: Sequence[str],
    group_norms: Sequence[str],
) -> None:
    """Write the snapshot atomically, then delete the region's snapshots of other stamps."""
    arrays: dict[str, np.ndarray[Any, Any]] = {c: getattr(table, c) for c in _COLUMNS}
    spelling_keys = sorted(table.spellings)
    sids = [table.spellings[k] for k in spelling_keys]
    spell_offsets = np.zeros(len(sids) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in sids], out=spell_offsets[1:])
    arrays["spelling_offsets"] = spell_offsets
    arrays["spelling_sids"] = (
        np.concatenate(sids).astype(np.int32) if sids else np.zeros(0, dtype=np.int32)
    )
    tables: dict[str, Sequence[str]] = {
        "strings": table.strings.strings,
        "contexts": [_CONTEXT_SEP.join(sorted(c)) for c in table.contexts],
        "spelling_keys": spelling_keys,
        "names": names,
        "group_norms": group_norms,
    }
    for name, strings in tables.items():
        arrays[f"{name}_offsets"], arrays[f"{name}_blob"] = _encode(strings)
    layout: dict[str, list[Any]] = {}
    offset = 0
    for name, a in arrays.items():
        layout[name] = [a.dtype.str, offset, len(a)]
        offset += -(-a.nbytes // ALIGN) * ALIGN
    payload_bytes = offset
    crc = 0
    for a in arrays.values():
        crc = zlib.crc32(np.ascontiguousarray(a).tobytes(), crc)
        crc = zlib.crc32(bytes(-a.nbytes % ALIGN), crc)
    header = json.dumps(
        {
            "version": VERSION,
            "region": region,
            "stamp": stamp,
            "arrays": layout,
            "payload_bytes": payload_bytes,
            "crc32": crc,
        }
    ).encode("utf-8")
    head_len = -(-(len(MAGIC) + 8 + len(header)) // ALIGN) * ALIGN
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temp.open("wb") as fh:
            fh.write(MAGIC)
            fh.write(head_len.to_bytes(8, "little"))
            fh.write(header)
            fh.write(bytes(head_len - len(MAGIC) - 8 - len(header)))
            for a in arrays.values():
                fh.write(np.ascontiguousarray(a).tobytes())
                fh.write(bytes(-a.nbytes % ALIGN))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    for old in path.parent.glob(f"{region}@*{SUFFIX}"):
        if old != path:
            # a process that maps it keeps its pages; the name goes now
            old.unlink(missing_ok=True)


def load_snapshot(path: Path, region: str, stamp: str) -> AddressSnapshot | None:
    """The mapped snapshot, or None when it is missing, of another import, or damaged."""
    try:
        with path.open("rb") as fh:
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (FileNotFoundError, ValueError):
        return None  # missing, or empty (an empty file cannot be mapped)
    reason = _refusal(mapped, region, stamp)
    if isinstance(reason, str):
        log.warning("geocoding snapshot %s refused (%s): building from the database", path, reason)
        mapped.close()
        return None
    head_len, header = reason
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    for name, (dtype, offset, count) in header["arrays"].items():
        arrays[name] = np.frombuffer(
            mapped, dtype=np.dtype(dtype), count=int(count), offset=head_len + int(offset)
        )
    tables = {
        name: BlobStrings(arrays[f"{name}_offsets"], arrays[f"{name}_blob"]) for name in _TABLES
    }
    offsets = arrays["spelling_offsets"]
    sids = arrays["spelling_sids"]
    spellings = {
        k: sids[int(offsets[i]) : int(offsets[i + 1])]
        for i, k in enumerate(tables["spelling_keys"])
    }
    contexts = [frozenset(c.split(_CONTEXT_SEP)) if c else frozenset() for c in tables["contexts"]]
    table = AddressTable(
        **{c: arrays[c] for c in _COLUMNS},
        strings=StringTable.frozen(tables["strings"]),
        contexts=contexts,
        spellings=spellings,
    )
    return AddressSnapshot(table, tables["names"], tables["group_norms"])


def _refusal(mapped: mmap.mmap, region: str, stamp: str) -> str | tuple[int, dict[str, Any]]:
    """Why the mapped file may not be served, or its header length and header."""
    if len(mapped) < len(MAGIC) + 8 or mapped[: len(MAGIC)] != MAGIC:
        return "not a snapshot"
    head_len = int.from_bytes(mapped[len(MAGIC) : len(MAGIC) + 8], "little")
    if head_len > len(mapped):
        return "truncated header"
    try:
        header = json.loads(bytes(mapped[len(MAGIC) + 8 : head_len]).rstrip(b"\x00"))
    except ValueError:
        return "unreadable header"
    if header.get("version") != VERSION:
        return f"version {header.get('version')}, not {VERSION}"
    if header.get("region") != region or header.get("stamp") != stamp:
        return f"of {header.get('region')} at {header.get('stamp')}, not {region} at {stamp}"
    if len(mapped) != head_len + int(header["payload_bytes"]):
        return f"{len(mapped)} bytes, not {head_len + int(header['payload_bytes'])}"
    crc = 0
    for start in range(head_len, len(mapped), _CRC_CHUNK):
        crc = zlib.crc32(mapped[start : start + _CRC_CHUNK], crc)
    if crc != header["crc32"]:
        return "checksum mismatch"
    return head_len, header
