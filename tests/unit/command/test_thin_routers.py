"""Routers parse, call a service and answer: none of them opens a database connection."""

from __future__ import annotations

import ast
from pathlib import Path

API = Path(__file__).resolve().parents[3] / "command" / "api"


def _engine_uses(source: str) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr in {"engine", "connect", "begin"}
    ]


def test_no_router_reaches_for_the_engine() -> None:
    found = {
        path.name: lines
        for path in sorted(API.rglob("*.py"))
        if (lines := _engine_uses(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_check_sees_a_connection() -> None:
    source = "async def f(c):\n    async with c.engine.connect() as conn:\n        pass\n"
    assert _engine_uses(source) == [2, 2]
