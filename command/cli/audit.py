"""``cad audit``: the tamper-evident audit log.

``verify`` walks the chain and its checkpoints and reports every break; ``seal`` seals the
rows committed so far (a running ``cad serve`` does this by itself); ``archive`` moves the rows
past retention to a file; ``export`` writes rows as JSON lines or syslog messages for a SIEM;
``verify-archive`` checks an archive file.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from command import audit as audit_log
from command import audit_archive
from command.audit_trail import AuditTrail
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


def _day(raw: str) -> datetime:
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a date (YYYY-MM-DD)") from None


def _seq(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a row number (0 or more)")
    return int(raw)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the tamper-evident audit log")
    actions = audit.add_subparsers(dest="audit_action", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="check that no row was changed or removed")
    verify.add_argument("--expect-head", help="head hash recorded earlier, to compare with")
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
    archive = actions.add_parser(
        "archive", help="move rows past retention (CAD_AUDIT_RETENTION_DAYS) to a file"
    )
    archive.add_argument("--out", type=Path, required=True, help="directory for the archive")
    archive.add_argument("--before", type=_day, help="only rows before this day (YYYY-MM-DD)")
    archive.set_defaults(handler=archive_cmd)
    export = actions.add_parser("export", help="write sealed rows for a SIEM")
    export.add_argument("--format", choices=("jsonl", "syslog"), default="jsonl")
    export.add_argument("--after", type=_seq, default=0, help="only rows after this seq")
    export.set_defaults(handler=export_cmd)
    check = actions.add_parser("verify-archive", help="check an archive file made by `archive`")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=verify_archive_cmd)


def verify_cmd(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> audit_log.Verification:
        async with engine_for(settings) as engine:
            trail = AuditTrail(engine, settings, create_key=False)
            return await trail.verify(max_unsealed=args.max_unsealed)

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
    print(
        f"{report.rows} rows{waiting}, {report.checkpoints} checkpoints, head {report.head}: "
        f"{'ok' if ok else 'NOT OK'}"
    )
    return 0 if ok else 1


def seal_cmd(_args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> audit_log.Verification:
        async with engine_for(settings) as engine:
            trail = AuditTrail(engine, settings, create_key=True)
            await trail.seal()
            return await trail.verify()

    report = asyncio.run(run())
    print(f"{report.rows} rows sealed, head {report.head}")
    return 0


def archive_cmd(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> audit_archive.Archived:
        async with engine_for(settings, admin=True) as admin:
            trail = AuditTrail(admin, settings, create_key=False)
            return await audit_archive.archive(
                admin,
                trail.key,
                trail.checkpoints,
                args.out,
                retention=timedelta(days=settings.audit_retention_days),
                now=datetime.now(UTC),
                before=args.before,
            )

    done = asyncio.run(run())
    if done.path is None:
        print(
            f"nothing to archive: no sealed row is older than {settings.audit_retention_days} days"
        )
    else:
        print(f"archived rows {done.first}..{done.last} ({done.rows} rows) to {done.path}")
    return 0


def export_cmd(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        async with engine_for(settings) as engine, engine.connect() as conn:
            async for line in audit_archive.export(conn, args.after, args.format):
                sys.stdout.write(line + "\n")

    asyncio.run(run())
    return 0


def verify_archive_cmd(args: argparse.Namespace, settings: Settings) -> int:
    key = AuditTrail.key_of(settings)
    if not args.file.is_file():
        print(f"no such archive: {args.file}")
        return 2
    problems = audit_archive.verify_file(args.file, key)
    for problem in problems:
        print(f"TAMPERED: {problem}")
    print(f"{args.file.name}: {'NOT OK' if problems else 'ok'}")
    return 1 if problems else 0
