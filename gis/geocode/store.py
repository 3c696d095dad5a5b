"""Loading a region's search index from PostGIS, and keeping it until the region changes.

The database is the source of truth: an index is built from the region's rows once, then reused
while ``gis_regions.generation`` stays the same. The generation is re-read at most every
``recheck_seconds`` (another process may have re-imported); an import in this process evicts the
index at once (the cache is one of the import's ``listeners``).

With a ``snapshot_dir`` the built address table is written there once per import
(:mod:`gis.geocode.snapshot`), and every later load of that import, in this process or another,
maps it instead of reading and building the address rows; the name side (streets, places) is
still read and built in each process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gis.errors import RegionNotFoundError, SnapshotMismatch
from gis.geocode.addresses import AddressColumns
from gis.geocode.index import JurisdictionRow, PlaceRow, RegionIndex, StreetRow
from gis.geocode.snapshot import AddressSnapshot, load_snapshot, snapshot_path, write_snapshot

log = logging.getLogger(__name__)

DEFAULT_RECHECK_SECONDS = 2.0

LOAD_STATEMENT_TIMEOUT_MS = 300_000
"""Longest one statement of loading an index may run (this transaction only)."""

ADDRESS_BATCH = 20_000

_BOUNDARIES = """
SELECT name, ST_AsBinary(geom) AS wkb FROM gis_features
WHERE region = :r AND layer = 'boundary' AND name IS NOT NULL
"""

_STREETS = """
SELECT s.id, s.name, s.names, s.norm, s.jurisdiction_id, ST_AsBinary(s.geom) AS wkb,
       ST_X(p.pt) AS lon, ST_Y(p.pt) AS lat
FROM gis_streets s,
     LATERAL (SELECT ST_ClosestPoint(s.geom, ST_Centroid(s.geom)) AS pt) p
WHERE s.region = :r ORDER BY s.id
"""

_ADDRESSES = """
SELECT a.id, a.street, a.place, a.housenumber, a.postcode, a.city, a.jurisdiction_id,
       ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat
FROM gis_addresses a WHERE a.region = :r
"""

_PLACES = """
SELECT p.id, p.name, p.names, p.kind, p.jurisdiction_id, ST_X(p.geom) AS lon,
       ST_Y(p.geom) AS lat, p.street, p.housenumber
FROM gis_places p WHERE p.region = :r
"""

_JURISDICTIONS = """
SELECT id, name, names, ST_AsBinary(geom) AS wkb FROM gis_jurisdictions WHERE region = :r
"""


def _names(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


async def region_generation(conn: AsyncConnection, region: str) -> int:
    """The region's import generation, :class:`RegionNotFoundError` when never imported."""
    row = (
        await conn.execute(
            text("SELECT generation FROM gis_regions WHERE name = :r"), {"r": region}
        )
    ).first()
    if row is None:
        raise RegionNotFoundError(
            f"region {region!r} has not been imported: run `cad gis import-osm FILE --region "
            f"{region}` first",
            code="gis.region_unknown_run_import",
            region=region,
        )
    return int(row[0])


async def _import_stamp(conn: AsyncConnection, region: str) -> str:
    """Which import of ``region`` this is: its generation and import time (another database
    holding a region of that name and generation has another time)."""
    row = (
        await conn.execute(
            text(
                "SELECT generation, CAST(extract(epoch FROM imported_at) * 1000000 AS bigint) "
                "FROM gis_regions WHERE name = :r"
            ),
            {"r": region},
        )
    ).one()
    return f"{int(row[0])}-{int(row[1])}"


async def load_index(
    conn: AsyncConnection, region: str, snapshot_dir: Path | None = None
) -> RegionIndex:
    """Build the search index of ``region`` from its rows (one consistent snapshot), its
    address table mapped from ``snapshot_dir`` when a snapshot of this import is there."""
    generation = await region_generation(conn, region)
    # a city's rows take longer to read than the service's short statement timeout allows
    await conn.execute(text(f"SET LOCAL statement_timeout = {int(LOAD_STATEMENT_TIMEOUT_MS)}"))
    params = {"r": region}
    stamp = await _import_stamp(conn, region)
    path = None if snapshot_dir is None else snapshot_path(snapshot_dir, region, stamp)
    snapshot = None if path is None else await asyncio.to_thread(load_snapshot, path, region, stamp)
    juris = [
        JurisdictionRow(int(r.id), r.name, _names(r.names), bytes(r.wkb))
        for r in (await conn.execute(text(_JURISDICTIONS), params)).all()
    ]
    streets = [
        StreetRow(
            id=int(r.id),
            name=r.name,
            names=_names(r.names),
            norm=r.norm,
            jurisdiction_id=r.jurisdiction_id,
            wkb=bytes(r.wkb),
            lon=float(r.lon),
            lat=float(r.lat),
        )
        for r in (await conn.execute(text(_STREETS), params)).all()
    ]
    places = [
        PlaceRow(
            id=int(r.id),
            name=r.name,
            names=_names(r.names),
            kind=r.kind,
            jurisdiction_id=r.jurisdiction_id,
            lon=float(r.lon),
            lat=float(r.lat),
            street=r.street,
            housenumber=r.housenumber,
        )
        for r in (await conn.execute(text(_PLACES), params)).all()
    ]
    boundaries = [
        (str(r.name), bytes(r.wkb)) for r in (await conn.execute(text(_BOUNDARIES), params)).all()
    ]

    def build(addresses: AddressColumns, mapped: AddressSnapshot | None) -> RegionIndex:
        return RegionIndex(
            region, generation, juris, streets, addresses, places, boundaries, snapshot=mapped
        )

    if snapshot is not None:
        try:
            return await asyncio.to_thread(build, AddressColumns(), snapshot)
        except SnapshotMismatch as exc:
            log.warning("%s: building from the database", exc)
    index = await asyncio.to_thread(build, await _addresses(conn, params), None)
    if path is not None:
        try:
            await asyncio.to_thread(
                write_snapshot,
                path,
                region,
                stamp,
                index.addresses,
                index.address_names,
                list(index.groups),
            )
        except OSError as exc:
            # the index serves from memory all the same; the next process builds its own
            log.warning("cannot write the geocoding snapshot %s: %s", path, exc)
    return index


async def _addresses(conn: AsyncConnection, params: dict[str, Any]) -> AddressColumns:
    addresses = AddressColumns()
    seen: dict[str, str] = {}

    def one(text: str | None) -> str | None:
        # one string object per spelling, not per row (a city repeats them a million times)
        return None if text is None else seen.setdefault(text, text)

    # streamed in batches straight into columns: no object per row is ever made
    result = await conn.stream(text(_ADDRESSES), params)
    async for batch in result.partitions(ADDRESS_BATCH):
        for r in batch:
            addresses.ids.append(int(r[0]))
            addresses.street.append(one(r[1]))
            addresses.place.append(one(r[2]))
            addresses.housenumber.append(one(r[3]) or "")
            addresses.postcode.append(one(r[4]))
            addresses.city.append(one(r[5]))
            addresses.jurisdiction_id.append(r[6])
            addresses.lon.append(float(r[7]))
            addresses.lat.append(float(r[8]))
            addresses.areas.append(())
    return addresses


@dataclass
class _Entry:
    index: RegionIndex
    checked_at: float


class IndexCache:
    """Region indexes of one database, rebuilt when the region's generation changes."""

    def __init__(
        self, recheck_seconds: float = DEFAULT_RECHECK_SECONDS, snapshot_dir: Path | None = None
    ) -> None:
        self.recheck_seconds = recheck_seconds
        self.snapshot_dir = snapshot_dir
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def region_imported(self, region: str) -> None:
        """Forget the index of ``region`` (it was re-imported)."""
        self._entries.pop(region, None)

    async def get(self, engine: AsyncEngine, region: str) -> RegionIndex:
        """The current index of ``region``, loading it when missing or outdated."""
        entry = self._entries.get(region)
        now = time.monotonic()
        if entry is not None and now - entry.checked_at < self.recheck_seconds:
            return entry.index
        lock = self._locks.setdefault(region, asyncio.Lock())
        async with lock:
            entry = self._entries.get(region)
            now = time.monotonic()
            if entry is not None and now - entry.checked_at < self.recheck_seconds:
                return entry.index
            if entry is not None:
                async with engine.connect() as conn:
                    generation = await region_generation(conn, region)
                if generation == entry.index.generation:
                    entry.checked_at = now
                    return entry.index
            async with engine.connect() as conn, conn.begin():
                await conn.execute(
                    text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                )
                index = await load_index(conn, region, self.snapshot_dir)
            self._entries[region] = _Entry(index, time.monotonic())
            return index
