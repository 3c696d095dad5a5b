"""``cad audit verify``: walk the audit chain and report every break; ``cad audit seal``: seal
the rows committed so far (a running ``cad serve`` does this by itself)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from command import audit as audit_log
from command.cli.common import engine_for
from command.settings import Settings


def _seconds(raw: str) -> timedelta:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds") from None
    if not 0 <= value <= 86_400 * 365:
        raise argparse.ArgumentTypeError(f"{raw} seconds is outside 0..31536000")
    return timedelta(seconds=value)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the tamper-evident audit log")
    actions = audit.add_subparsers(dest="audit_action", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="check that no row was changed or deleted")
    verify.add_argument("--expect-head", help="head hash recorded earlier, to detect truncation")
    verify.add_argument(
        "--max-unsealed",
        type=_seconds,
        default=audit_log.MAX_UNSEALED,
        metavar="SECONDS",
        help="report rows that have waited longer than this for their seal (default 60)",
    )
    verify.set_defaults(handler=verify_cmd)
    seal = actions.add_parser("seal", help="seal the rows committed so far into the chain")
    seal.set_defaults(handler=seal_cmd)


def verify_cmd(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> audit_log.Verification:
        async with engine_for(settings) as engine, engine.connect() as conn:
            return await audit_log.verify(conn, max_unsealed=args.max_unsealed)

    report = asyncio.run(run())
    breaks = list(report.breaks)
    if args.expect_head and args.expect_head != report.head:
        breaks.append("the chain does not end at the expected head (rows removed or replaced)")
    for problem in breaks:
        print(f"TAMPERED: {problem}")
    if report.late_problem:
        print(f"LATE: {report.late_problem}")
    ok = not breaks and not report.late
    waiting = f", {report.unsealed} waiting for their seal" if report.unsealed else ""
    print(f"{report.rows} rows{waiting}, head {report.head}: {'ok' if ok else 'NOT OK'}")
    return 0 if ok else 1


def seal_cmd(_args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> audit_log.Verification:
        async with engine_for(settings) as engine, engine.connect() as conn:
            await audit_log.seal(conn)
            return await audit_log.verify(conn)

    report = asyncio.run(run())
    print(f"{report.rows} rows sealed, head {report.head}")
    return 0
