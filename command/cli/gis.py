"""``cad gis import-osm`` and ``cad gis geocode``.

``cad gis import-osm FILE --region NAME`` replaces a region from an OSM extract (progress on
stderr). ``cad gis geocode "QUERY" --region R [--json]`` prints the best candidates;
``cad gis geocode --batch IN.jsonl --region R`` reads ``{"id", "query"}`` lines and prints one
``{"id", "lat", "lon", "score", "label", "kind"}`` line per input (``lat``/``lon`` null when
nothing matched). A bad input line stops the batch before anything is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from command import bootstrap
from command.cli.common import Progress, engine_for
from command.errors import InvalidInput
from command.settings import Settings
from gis.errors import GisError
from gis.geocode.query import check_query
from gis.geocode.service import MAX_LIMIT
from gis.osm_import import import_osm

GOALS = {"overall": 95.0, "typo": 90.0}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gis = sub.add_parser("gis", help="map data: OSM import, geocoding")
    actions = gis.add_subparsers(dest="gis_action", required=True, metavar="ACTION")

    imp = actions.add_parser("import-osm", help="import (replace) a region from an .osm.pbf")
    imp.add_argument("file", type=Path, help="the OSM extract, e.g. liechtenstein.osm.pbf")
    imp.add_argument("--region", required=True, help="region name, e.g. liechtenstein")
    imp.set_defaults(handler=import_cmd)

    geo = actions.add_parser("geocode", help="address, landmark or coordinates to places")
    geo.add_argument("query", nargs="?", help="what was typed (omit with --batch)")
    geo.add_argument("--region", required=True, help="an imported region")
    geo.add_argument("--json", action="store_true", help="print the candidates as JSON")
    geo.add_argument("--limit", type=int, default=5, help=f"candidates (1..{MAX_LIMIT})")
    geo.add_argument("--batch", type=Path, help="JSONL file of {id, query}; one line out each")
    geo.set_defaults(handler=geocode_cmd)


# --- import -------------------------------------------------------------------------------


def import_cmd(args: argparse.Namespace, settings: Settings) -> int:
    progress = Progress()

    async def run() -> Any:
        async with engine_for(settings.for_import()) as engine:
            return await import_osm(
                engine,
                args.file,
                args.region,
                progress=progress,
                statement_timeout_ms=settings.import_statement_timeout_ms,
            )

    try:
        summary = asyncio.run(run())
    finally:
        progress.done()
    print(
        f"region {summary.region}: {summary.jurisdictions} jurisdictions "
        f"(admin level {summary.jurisdiction_level}), {summary.streets} streets, "
        f"{summary.addresses} addresses, {summary.places} places, "
        f"{summary.road_edges} road edges, {summary.features} map features "
        f"in {summary.seconds:.1f} s"
    )
    return 0


# --- geocode ------------------------------------------------------------------------------


def _read_batch(path: Path) -> list[tuple[Any, str]]:
    if not path.is_file():
        raise InvalidInput(
            f"batch file {path} does not exist", code="geocode.batch_missing", file=str(path)
        )
    items: list[tuple[Any, str]] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(
                    f"{path.name} line {n}: not JSON ({exc.msg})",
                    code="geocode.batch_not_json",
                    file=path.name,
                    line=n,
                    reason=exc.msg,
                ) from exc
            if not isinstance(obj, dict) or "id" not in obj or "query" not in obj:
                raise InvalidInput(
                    f"{path.name} line {n}: needs an object with 'id' and 'query'",
                    code="geocode.batch_line_invalid",
                    file=path.name,
                    line=n,
                )
            try:
                query = check_query(obj["query"])
            except GisError as exc:
                raise InvalidInput(
                    f"{path.name} line {n}: {exc}",
                    code="geocode.batch_query_invalid",
                    file=path.name,
                    line=n,
                    reason=str(exc),
                    reason_code=exc.code,
                    reason_params=exc.params,
                ) from exc
            items.append((obj["id"], query))
    return items


def geocode_cmd(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.limit <= MAX_LIMIT:
        raise InvalidInput(
            f"--limit must be from 1 to {MAX_LIMIT}",
            code="geocode.limit_range",
            min=1,
            max=MAX_LIMIT,
        )
    if args.batch is not None:
        if args.query is not None:
            raise InvalidInput(
                "give either a QUERY or --batch FILE, not both", code="geocode.query_and_batch"
            )
        items = _read_batch(args.batch)

        async def run_batch() -> list[str]:
            lines: list[str] = []
            async with bootstrap.parts(settings) as parts:
                for item_id, query in items:
                    found = await parts.geocoder.geocode(args.region, query, limit=1)
                    top = found[0] if found else None
                    lines.append(
                        json.dumps(
                            {
                                "id": item_id,
                                "lat": None if top is None else round(top.lat, 7),
                                "lon": None if top is None else round(top.lon, 7),
                                "score": None if top is None else round(top.score, 4),
                                "label": None if top is None else top.label,
                                "kind": None if top is None else top.kind,
                            },
                            ensure_ascii=False,
                        )
                    )
            return lines

        out = asyncio.run(run_batch())
        sys.stdout.write("".join(line + "\n" for line in out))
        return 0
    if args.query is None:
        raise InvalidInput(
            "give a QUERY to geocode (or --batch FILE)", code="geocode.query_missing"
        )
    query = check_query(args.query)

    async def run_one() -> list[Any]:
        async with bootstrap.parts(settings) as parts:
            return await parts.geocoder.geocode(args.region, query, limit=args.limit)

    candidates = asyncio.run(run_one())
    if args.json:
        print(
            json.dumps(
                {"query": query, "candidates": [c.as_dict() for c in candidates]},
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    if not candidates:
        print("no match")
        return 0
    for c in candidates:
        print(f"{c.score:5.3f}  {c.kind:<12} {c.label}  ({c.lat:.6f}, {c.lon:.6f})")
        print(f"       {c.explanation}")
    return 0
