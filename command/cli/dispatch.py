"""``cad dispatch seed|units``.

``cad dispatch seed --region R`` gives an imported region its demo fleet (stations from the
map's fire stations, police stations and hospitals). ``cad dispatch units`` prints the status
board.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from command import bootstrap
from command.cli.common import engine_for, ensure_embedded_running
from command.settings import Settings
from dispatch.demo import describe, seed_region


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("dispatch", help="units and stations: demo fleet, status board")
    actions = parser.add_subparsers(dest="dispatch_action", required=True, metavar="ACTION")
    seed = actions.add_parser("seed", help="give an imported region its demo stations and units")
    seed.add_argument("--region", required=True, help="an imported region, e.g. liechtenstein")
    seed.set_defaults(handler=seed_cmd)
    units = actions.add_parser("units", help="print the unit status board with timer alerts")
    units.set_defaults(handler=units_cmd)


def seed_cmd(args: argparse.Namespace, settings: Settings) -> int:
    ensure_embedded_running(settings)

    async def run() -> str:
        async with engine_for(settings) as engine, engine.begin() as conn:
            return describe([await seed_region(conn, args.region, datetime.now(UTC))])

    print(asyncio.run(run()))
    return 0


def units_cmd(_: argparse.Namespace, settings: Settings) -> int:
    ensure_embedded_running(settings)

    async def run() -> None:
        async with bootstrap.parts(settings) as parts:
            board = await parts.unit_status.board()
        units = board.units
        alerts = {a.unit_id: a for a in board.alerts}
        for u in units:
            alert = alerts.get(u.id)
            flag = f"  ! {alert.code} {alert.elapsed_s:.0f}s" if alert else ""
            where = f" incident {u.incident_id}" if u.incident_id else ""
            print(f"{u.id:<16} {u.status.value:<15} {u.callsign}{where}{flag}")
        print(f"{len(units)} units, {len(alerts)} overdue")

    asyncio.run(run())
    return 0
