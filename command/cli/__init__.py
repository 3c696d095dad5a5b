"""The ``cad`` command line: one module per area, each adding its subcommands.

Errors a person can cause are printed as one clear line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from command import log_redaction
from command.bench import ami as bench_ami
from command.bench import avl as bench_avl
from command.bench import events as bench_events
from command.bench import geocode as bench_geocode
from command.bench import import_osm as bench_import
from command.bench import login as bench_login
from command.bench import plans as bench_plans
from command.bench import recommend as bench_recommend
from command.bench import route as bench_route
from command.bench import tracks as bench_tracks
from command.bench import video as bench_video
from command.cli import audit, backup, db, dispatch, gis, plan, serve, telephony, user, video
from command.errors import status_for
from command.settings import Settings

# Areas with their own subcommands; ``bench`` collects the benchmarks of command.bench, one
# module per area, each with ``register``.
AREAS: list[Any] = [db, backup, serve, user, audit, gis, telephony, dispatch, plan, video]
BENCH_MODULES: list[Any] = [
    bench_ami,
    bench_avl,
    bench_events,
    bench_geocode,
    bench_import,
    bench_login,
    bench_plans,
    bench_recommend,
    bench_route,
    bench_tracks,
    bench_video,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cad", description="Emergency command and dispatch (CAD/GIS)."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for area in AREAS:
        area.register(sub)
    bench = sub.add_parser("bench", help="measure against a baseline in the same run")
    bench_sub = bench.add_subparsers(dest="bench", required=True, metavar="BENCHMARK")
    for module in BENCH_MODULES:
        module.register(bench_sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Tokens in websocket URLs and the like never reach a log line (command.log_redaction).
    log_redaction.install()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "CAD_" + "_".join(str(p) for p in error["loc"]).upper()
            print(f"cad: bad setting {name}: {error['msg']}", file=sys.stderr)
        return 2
    try:
        result = args.handler(args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if status_for(exc) is None:
            raise
        print(f"cad: {exc}", file=sys.stderr)
        return 2
    return int(result or 0)
