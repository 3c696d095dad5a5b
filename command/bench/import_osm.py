"""``cad bench import``: how fast `cad gis import-osm` imports a city-sized extract, and its peak
memory, into the database as it is (holding other regions, as in service).

The extract is made here: ``--copies`` copies of a base extract side by side (ids offset, every
copy shifted east by the base's width plus a margin), written with pyosmium to a temporary
PBF. The figures are the import's wall time and this process's peak resident memory, whole and
per million nodes. There is no other importer to compare with on this machine (osm2pgsql and
Nominatim are not installed): the figure stands against the goal alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import osmium

from command import bootstrap
from command.bench.stats import load_average
from command.cli.common import Progress
from command.errors import InvalidInput
from command.settings import Settings
from gis.osm_import import import_osm

ID_STRIDE = 10**10
"""Ids of copy k are the base's plus k times this (OSM ids stay below 2^40)."""


def write_copies(base: Path, copies: int, out: Path) -> int:
    """Write ``copies`` shifted copies of ``base`` to ``out``; the number of nodes written."""
    box = osmium.io.Reader(str(base), osmium.osm.osm_entity_bits.NOTHING).header().box()
    width = box.top_right.lon - box.bottom_left.lon if box.valid() else 0.1
    step = width + 0.01
    nodes = 0
    writer = osmium.SimpleWriter(str(out))
    try:
        # ids sorted within each kind, as readers require: copy after copy, kind after kind
        for kind in ("n", "w", "r"):
            for k in range(copies):
                off, dx = k * ID_STRIDE, k * step
                for obj in osmium.FileProcessor(str(base)):
                    if kind == "n" and isinstance(obj, osmium.osm.Node):
                        loc = obj.location
                        writer.add_node(
                            obj.replace(id=obj.id + off, location=(loc.lon + dx, loc.lat))
                        )
                        nodes += 1
                    elif kind == "w" and isinstance(obj, osmium.osm.Way):
                        refs = [n.ref + off for n in obj.nodes]
                        writer.add_way(obj.replace(id=obj.id + off, nodes=refs))
                    elif kind == "r" and isinstance(obj, osmium.osm.Relation):
                        members = [(m.type, m.ref + off, m.role) for m in obj.members]
                        writer.add_relation(obj.replace(id=obj.id + off, members=members))
    finally:
        writer.close()
    return nodes


async def _import(settings: Settings, path: Path, region: str) -> Any:
    progress = Progress()
    async with bootstrap.parts(settings.for_import()) as parts:
        try:
            return await import_osm(
                parts.engine,
                path,
                region,
                progress=progress,
                statement_timeout_ms=settings.import_statement_timeout_ms,
            )
        finally:
            progress.done()


def bench_cmd(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.copies <= 200:
        raise InvalidInput("--copies takes 1 to 200", code="bench.copies_range", copies=args.copies)
    if not args.base.is_file():
        raise InvalidInput(
            f"base extract {args.base} does not exist",
            code="bench.base_missing",
            file=str(args.base),
        )
    load = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "copies.osm.pbf"
        nodes = write_copies(args.base, args.copies, path)
        size = path.stat().st_size
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        started = time.perf_counter()
        summary = asyncio.run(_import(settings, path, args.region))
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    millions = nodes / 1e6
    figures: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": round(load, 2),
        "copies": args.copies,
        "pbf_mib": round(size / 2**20, 1),
        "nodes": nodes,
        "addresses": summary.addresses,
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(peak / 2**20),
        "peak_rss_before_mib": round(before / 2**20),
        "per_million_nodes": {
            "seconds": round(seconds / millions, 1),
            "peak_rss_mib": round(peak / 2**20 / millions),
        },
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"import of {args.copies} copies of {args.base.name}: {size / 2**20:.1f} MiB PBF, "
        f"{nodes:,} nodes, {summary.addresses:,} addresses (load average {load:.2f})"
    )
    print(f"{seconds:.1f} s, peak resident memory {peak / 2**20:.0f} MiB")
    per = figures["per_million_nodes"]
    print(f"per million nodes: {per['seconds']} s, {per['peak_rss_mib']} MiB")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "import", help="import time and peak memory of a city-sized extract (shifted copies)"
    )
    bench.add_argument("--base", type=Path, required=True, help="an .osm.pbf extract to copy")
    bench.add_argument("--copies", type=int, default=30, help="copies side by side")
    bench.add_argument("--region", default="bench-import", help="the region to import into")
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.set_defaults(handler=bench_cmd)
