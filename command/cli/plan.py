"""``cad plan import|export|list|approve``: the plan library from the command line.

``import`` reads YAML files (each a new draft version; a file with an error is refused with
its field and line, and nothing of it is saved); ``export`` writes a version as YAML;
``list`` prints the latest version of every plan with its status; ``approve`` submits a draft
for review if need be and approves it.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from command import bootstrap
from command.cli.common import ensure_embedded_running
from command.errors import InvalidInput
from command.settings import Settings

ACTOR = "cli"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("plan", help="contingency plans: import, export, list, approve")
    actions = parser.add_subparsers(dest="plan_action", required=True, metavar="ACTION")
    imp = actions.add_parser("import", help="import YAML plans as new draft versions")
    imp.add_argument("files", nargs="+", type=Path, help="plan YAML files")
    imp.add_argument("--approve", action="store_true", help="approve each version imported")
    imp.set_defaults(handler=import_cmd)
    exp = actions.add_parser("export", help="print a plan version as YAML")
    exp.add_argument("key", help="the plan's key, e.g. highrise_fire")
    exp.add_argument("--version", type=int, default=None, help="default: the latest")
    exp.set_defaults(handler=export_cmd)
    lst = actions.add_parser("list", help="the latest version of every plan")
    lst.set_defaults(handler=list_cmd)
    app = actions.add_parser("approve", help="approve a version (submitting a draft first)")
    app.add_argument("key")
    app.add_argument("version", type=int)
    app.set_defaults(handler=approve_cmd)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = str(exc)
        raise InvalidInput(
            f"cannot read {path}: {reason}",
            code="plan.file_unreadable",
            file=str(path),
            reason=reason,
        ) from exc


def import_cmd(args: argparse.Namespace, settings: Settings) -> int:
    texts = [(path, _read(path)) for path in args.files]
    ensure_embedded_running(settings)

    async def run() -> None:
        async with bootstrap.parts(settings) as parts:
            for path, text in texts:
                version = await parts.plan_library.import_yaml(text, ACTOR)
                if args.approve:
                    version = await parts.plan_library.approve(version.key, version.version, ACTOR)
                print(f"{path}: {version.key} version {version.version} {version.status}")

    asyncio.run(run())
    return 0


def export_cmd(args: argparse.Namespace, settings: Settings) -> int:
    ensure_embedded_running(settings)

    async def run() -> str:
        async with bootstrap.parts(settings) as parts:
            return await parts.plan_library.export_yaml(args.key, args.version)

    print(asyncio.run(run()), end="")
    return 0


def list_cmd(_: argparse.Namespace, settings: Settings) -> int:
    ensure_embedded_running(settings)

    async def run() -> None:
        async with bootstrap.parts(settings) as parts:
            latest = await parts.plan_library.latest()
        for v in latest:
            print(f"{v.key:<28} v{v.version:<3} {v.status.value:<10} {v.plan.name('en')}")
        print(f"{len(latest)} plans")

    asyncio.run(run())
    return 0


def approve_cmd(args: argparse.Namespace, settings: Settings) -> int:
    ensure_embedded_running(settings)

    async def run() -> None:
        async with bootstrap.parts(settings) as parts:
            v = await parts.plan_library.approve(args.key, args.version, ACTOR)
        print(f"{v.key} version {v.version} {v.status.value} by {v.approved_by}")

    asyncio.run(run())
    return 0
