"""The address index shared through a snapshot file: a second load maps what the first built
and answers the same; a snapshot of another import, a truncated or a damaged one is refused and
the index built from the database again (and the file rewritten)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gis.geocode.index import RegionIndex
from gis.geocode.service import Geocoder
from gis.geocode.store import IndexCache
from gis.osm_import import import_osm
from tests.integration.gis.conftest import EXTRACT, REGION

QUERIES = Path(__file__).resolve().parents[2] / "data" / "geocode" / "liechtenstein.jsonl"


def _queries(n: int) -> list[str]:
    lines = QUERIES.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["query"] for line in lines[:: max(1, len(lines) // n)]][:n]


def _snapshots(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.gix"))


async def _load(engine: AsyncEngine, directory: Path, region: str) -> RegionIndex:
    """The index as a new process loads it: a cache of its own over the same directory."""
    return await IndexCache(snapshot_dir=directory).get(engine, region)


async def test_a_second_load_maps_the_snapshot_and_answers_the_same(
    liechtenstein: AsyncEngine, tmp_path: Path
) -> None:
    first = Geocoder(liechtenstein, cache=IndexCache(snapshot_dir=tmp_path))
    built = await first.index(REGION)
    assert not built.from_snapshot
    [file] = _snapshots(tmp_path)
    second = Geocoder(liechtenstein, cache=IndexCache(snapshot_dir=tmp_path))
    mapped = await second.index(REGION)
    assert mapped.from_snapshot
    assert _snapshots(tmp_path) == [file]  # read, not rewritten
    assert not mapped.addresses.lon.flags.writeable  # the file's pages, not a copy
    for column in ("ids", "street", "housenumber", "lon", "lat", "by_group", "numbered"):
        assert np.array_equal(getattr(built.addresses, column), getattr(mapped.addresses, column))
    assert list(built.addresses.strings.strings) == list(mapped.addresses.strings.strings)
    assert [(g.norm, g.ordinal) for g in built.groups.values()] == [
        (g.norm, g.ordinal) for g in mapped.groups.values()
    ]
    queries = _queries(200)
    for q in queries:
        assert await second.geocode(REGION, q) == await first.geocode(REGION, q), q
    found = await second.geocode(REGION, "Feldstrasse 34, Triesen")
    assert found[0].kind == "address"


@pytest.mark.slow
async def test_another_import_or_a_damaged_file_is_refused_and_rebuilt(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await import_osm(engine, EXTRACT, "li")
    assert not (await _load(engine, tmp_path, "li")).from_snapshot
    [first] = _snapshots(tmp_path)
    kept = tmp_path / "first.kept"
    shutil.copy(first, kept)
    assert (await _load(engine, tmp_path, "li")).from_snapshot

    # a new import: the old file is not used, a new one replaces it
    await import_osm(engine, EXTRACT, "li")
    assert not (await _load(engine, tmp_path, "li")).from_snapshot
    [second] = _snapshots(tmp_path)
    assert second != first
    assert (await _load(engine, tmp_path, "li")).from_snapshot

    # the old import's file under the new import's name: its header says whose it is
    shutil.copy(kept, second)
    assert not (await _load(engine, tmp_path, "li")).from_snapshot
    assert (await _load(engine, tmp_path, "li")).from_snapshot  # rewritten

    # truncated, then one byte of the columns changed: refused, rebuilt, rewritten
    data = second.read_bytes()
    second.write_bytes(data[: len(data) // 2])
    assert not (await _load(engine, tmp_path, "li")).from_snapshot
    assert len(second.read_bytes()) == len(data)
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0xFF
    second.write_bytes(bytes(damaged))
    assert not (await _load(engine, tmp_path, "li")).from_snapshot
    assert (await _load(engine, tmp_path, "li")).from_snapshot

    # another database's region of the same name and generation is another import
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE gis_regions SET imported_at = imported_at + interval '1 s'"
                " WHERE name = 'li'"
            )
        )
    assert not (await _load(engine, tmp_path, "li")).from_snapshot
