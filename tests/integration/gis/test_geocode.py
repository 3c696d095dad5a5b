"""Forward geocoding on the imported Liechtenstein extract: quality on the shared query set,
landmarks, intersections, errors, the command line (single, batch, benchmark)."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from command.bench import geocode as bench_geocode
from command.bench.geocode_trigram import TrigramGeocoder, split
from command.cli import gis as gis_cli
from command.errors import InvalidInput
from command.settings import Settings
from gis.errors import InvalidQueryError, RegionNotFoundError
from gis.geocode.model import Candidate
from gis.geocode.service import Geocoder
from gis.osm_import import ImportSummary
from tests.integration.gis.conftest import REGION

QUERIES = Path(__file__).resolve().parents[4] / "shared" / "data" / "geocode"
LIECHTENSTEIN_QUERIES = QUERIES / "liechtenstein-queries.jsonl"
CALLER_QUERIES = Path(__file__).resolve().parents[2] / "data" / "geocode" / "liechtenstein.jsonl"


async def test_accuracy_on_the_liechtenstein_query_set(liechtenstein: AsyncEngine) -> None:
    queries = bench_geocode.read_queries(LIECHTENSTEIN_QUERIES)
    geocoder = Geocoder(liechtenstein)

    async def ours(query: str) -> list[Candidate]:
        return await geocoder.geocode(REGION, query, limit=5)

    result = await bench_geocode.measure("ours", REGION, ours, queries)
    assert result.queries == 1000
    assert result.accuracy >= 95.0, result.misses
    assert result.by_kind["typo"].accuracy >= 90.0, result.misses
    for kind in ("clean", "no_city", "abbrev", "lower_ascii"):
        assert result.by_kind[kind].accuracy >= 95.0, (kind, result.misses)


async def test_accuracy_per_kind_on_queries_as_callers_speak(liechtenstein: AsyncEngine) -> None:
    """Our own set (tests/data/geocode, made by make_queries.py from the shared extract)."""
    queries = bench_geocode.read_queries(CALLER_QUERIES)
    geocoder = Geocoder(liechtenstein)

    async def ours(query: str) -> list[Candidate]:
        return await geocoder.geocode(REGION, query, limit=5)

    result = await bench_geocode.measure("ours", REGION, ours, queries, max_misses=100)
    for kind in ("partial_street", "number_form", "number_first", "sentence", "landmark"):
        assert result.by_kind[kind].accuracy >= 97.0, (kind, result.misses)
    for kind in ("clean", "no_city", "typo", "abbrev", "lower_ascii"):
        assert result.by_kind[kind].accuracy >= 99.0, (kind, result.misses)


async def test_a_sentence_says_which_part_was_read(liechtenstein: AsyncEngine) -> None:
    text = "wir brauchen einen Krankenwagen in der Feldkircher Strasse 2 in Schaan bitte schnell"
    top = (await Geocoder(liechtenstein).geocode(REGION, text))[0]
    assert (top.kind, top.street, top.housenumber) == ("address", "Feldkircher Strasse", "2")
    assert "Feldkircher Strasse 2" in top.extra["span"]
    assert top.extra["exact"] is True


async def test_fire_station_by_name_and_by_kind(liechtenstein: AsyncEngine) -> None:
    top = (await Geocoder(liechtenstein).geocode(REGION, "Feuerwehr Balzers"))[0]
    assert top.kind == "landmark"
    assert top.jurisdiction == "Balzers"
    top = (await Geocoder(liechtenstein).geocode(REGION, "Feuerwehr Schellenberg"))[0]
    assert top.kind == "landmark"
    assert top.jurisdiction == "Schellenberg"


async def test_landmark_in_another_language(liechtenstein: AsyncEngine) -> None:
    top = (await Geocoder(liechtenstein).geocode(REGION, "University of Liechtenstein"))[0]
    assert top.kind == "landmark"
    assert top.label.startswith("Universität Liechtenstein")


async def test_intersection_in_schaan(liechtenstein: AsyncEngine) -> None:
    for text in ("Landstrasse / Bahnhofstrasse, Schaan", "Bahnhofstrasse und Landstrasse Schaan"):
        top = (await Geocoder(liechtenstein).geocode(REGION, text))[0]
        assert top.kind == "intersection"
        assert top.jurisdiction == "Schaan"


async def test_coordinates(liechtenstein: AsyncEngine) -> None:
    top = (await Geocoder(liechtenstein).geocode(REGION, "47.14N 9.52E"))[0]
    assert top.kind == "coordinates"
    assert math.isclose(top.lat, 47.14)
    assert top.jurisdiction == "Vaduz"


async def test_bad_queries_and_regions(liechtenstein: AsyncEngine) -> None:
    with pytest.raises(InvalidQueryError, match="empty"):
        await Geocoder(liechtenstein).geocode(REGION, "   ")
    with pytest.raises(InvalidQueryError, match="10000 characters"):
        await Geocoder(liechtenstein).geocode(REGION, "a" * 10_000)
    with pytest.raises(RegionNotFoundError, match="has not been imported"):
        await Geocoder(liechtenstein).geocode("atlantis", "Feldstrasse 1")


async def test_typeahead(liechtenstein: AsyncEngine) -> None:
    texts = [s.text for s in await Geocoder(liechtenstein).typeahead(REGION, "Landstr")]
    assert "Landstrasse" in texts
    numbers = await Geocoder(liechtenstein).typeahead(REGION, "Feldstrasse 3")
    addresses = [s for s in numbers if s.kind == "address"]
    assert addresses
    assert numbers[: len(addresses)] == addresses  # numbers first, then the street
    assert all(s.text.startswith("Feldstrasse 3") for s in addresses)


def _cli(argv: list[str]) -> tuple[argparse.Namespace, argparse.ArgumentParser]:
    parser = argparse.ArgumentParser(prog="cad")
    sub = parser.add_subparsers(dest="command", required=True)
    gis_cli.register(sub)
    bench = sub.add_parser("bench").add_subparsers(dest="bench", required=True)
    bench_geocode.register(bench)
    return parser.parse_args(argv), parser


async def test_cli_batch(
    liechtenstein_import: tuple[str, ImportSummary],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings(database_url=liechtenstein_import[0])
    batch = tmp_path / "in.jsonl"
    lines = [
        {"id": 1, "query": "Feldstrasse 34, Triesen"},
        {"id": "two", "query": "qwxz vbnm"},
        {"id": 3, "query": "Rathaus Vaduz"},
    ]
    batch.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    args, _ = _cli(["gis", "geocode", "--batch", str(batch), "--region", REGION])
    assert await asyncio.to_thread(args.handler, args, settings) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["id"] for o in out] == [1, "two", 3]
    assert out[0]["kind"] == "address"
    assert set(out[0]) == {"id", "lat", "lon", "score", "label", "kind"}
    assert out[1]["lat"] is None
    assert out[1]["lon"] is None
    assert out[2]["kind"] == "landmark"

    batch.write_text(json.dumps(lines[0]) + "\n{not json\n", encoding="utf-8")
    args, _ = _cli(["gis", "geocode", "--batch", str(batch), "--region", REGION])
    with pytest.raises(InvalidInput, match="line 2: not JSON"):
        await asyncio.to_thread(args.handler, args, settings)
    batch.write_text(json.dumps({"id": 1, "query": ""}) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 1: the query is empty"):
        await asyncio.to_thread(args.handler, args, settings)
    assert capsys.readouterr().out == ""


async def test_cli_single_and_bench(
    liechtenstein_import: tuple[str, ImportSummary],
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings(database_url=liechtenstein_import[0])
    args, _ = _cli(["gis", "geocode", "Aeulestrasse 20, Vaduz", "--region", REGION, "--json"])
    assert await asyncio.to_thread(args.handler, args, settings) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["candidates"][0]["kind"] == "address"
    assert answer["candidates"][0]["jurisdiction"] == "Vaduz"

    args, _ = _cli(
        ["bench", "geocode", "--region", REGION, "--queries", str(LIECHTENSTEIN_QUERIES), "--json"]
    )
    assert await asyncio.to_thread(args.handler, args, settings) == 0
    figures = json.loads(capsys.readouterr().out)
    kinds = {"clean", "no_city", "typo", "abbrev", "lower_ascii"}
    for method in ("ours", "trigram"):
        assert figures[method]["queries"] == 1000
        assert set(figures[method]["by_kind"]) == kinds
    # the baseline is a real search: it finds the clean addresses, and is beaten on typos
    assert figures["trigram"]["by_kind"]["clean"]["accuracy"] > 50
    assert figures["ours"]["accuracy"] > figures["trigram"]["accuracy"]


def test_the_baseline_reads_street_and_number() -> None:
    assert split("Feldstrasse 34, Triesen") == ("Feldstrasse", "34")
    assert split("12 Rua do Almada") == ("Rua do Almada", "12")
    assert split("Städtle 5a") == ("Städtle", "5a")
    assert split("Kunstmuseum Liechtenstein") == ("Kunstmuseum Liechtenstein", None)


async def test_the_baseline_finds_an_address_and_a_landmark(liechtenstein: AsyncEngine) -> None:
    trigram = TrigramGeocoder(liechtenstein)
    ours = await Geocoder(liechtenstein).geocode(REGION, "Aeulestrasse 20, Vaduz")
    found = await trigram.geocode(REGION, "Aeulestrasse 20, Vaduz")
    assert found[0].kind == "address"
    assert bench_geocode.haversine_m(found[0].lat, found[0].lon, ours[0].lat, ours[0].lon) < 5
    landmark = await trigram.geocode(REGION, "Kunstmuseum Liechtenstein")
    assert landmark[0].kind == "landmark"
