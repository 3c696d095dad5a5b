"""The unit terminal protocol's JSON Schemas and the examples of docs/protocols/unit.md."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocols"
_EXAMPLE = re.compile(r"^```json (\S+)\n(.*?)^```", re.M | re.S)


@cache
def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DOCS / "schemas" / f"{name}.json").read_text("utf-8"))
    return loaded


def names() -> list[str]:
    return sorted(p.stem for p in (DOCS / "schemas").glob("*.json"))


def examples() -> list[tuple[str, dict[str, Any]]]:
    text = (DOCS / "unit.md").read_text("utf-8")
    return [(m.group(1), json.loads(m.group(2))) for m in _EXAMPLE.finditer(text)]


def problems(name: str, frame: object) -> list[str]:
    """Where ``frame`` breaks the schema ``name`` (empty when it fits)."""
    validator = Draft202012Validator(schema(name))
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(frame)
    ]


def check_server_frame(frame: dict[str, Any]) -> dict[str, Any]:
    """``frame`` as sent by the server, checked against its schema (returned for chaining)."""
    found = problems(f"server.{frame.get('type')}", frame)
    assert found == [], (frame, found)
    return frame
