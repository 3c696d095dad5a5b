"""``cad audit verify``: walk the audit chain and report every break."""

from __future__ import annotations

import argparse
import asyncio

from command import audit as audit_log
from command.cli.common import engine_for
from command.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the tamper-evident audit log")
    actions = audit.add_subparsers(dest="audit_action", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="check that no row was changed or deleted")
    verify.add_argument("--expect-head", help="head hash recorded earlier, to detect truncation")
    verify.set_defaults(handler=verify_cmd)


def verify_cmd(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> audit_log.Verification:
        async with engine_for(settings) as engine, engine.connect() as conn:
            return await audit_log.verify(conn)

    report = asyncio.run(run())
    problems = list(report.problems)
    if args.expect_head and args.expect_head != report.head:
        problems.append("the chain does not end at the expected head (rows removed or replaced)")
    for problem in problems:
        print(f"TAMPERED: {problem}")
    print(f"{report.rows} rows, head {report.head}: {'ok' if not problems else 'NOT OK'}")
    return 0 if not problems else 1
