"""Integers in paths and query strings kept within 64 bits, named when they are not.

Python's integers have no bound and FastAPI accepts any size for an ``int`` parameter, but a
column does not: ``/incidents/99999999999999999999`` would reach a statement and fail there.
This app-wide dependency looks at the parameters the matched route declares as integers and
refuses an out-of-range value with the same 422 body as any other invalid field.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.requests import HTTPConnection

from command.api.request_guard import INT64_MAX, INT64_MIN, Problem
from command.errors import InvalidInput


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return any(_is_int(arg) for arg in typing.get_args(annotation))
    if origin in (list, tuple, set, frozenset):
        return any(_is_int(arg) for arg in typing.get_args(annotation))
    return False


def _integer_params(dependant: Dependant) -> Iterator[tuple[str, str]]:
    """(where, name) of every integer path or query parameter, sub-dependencies included."""
    for where, fields in (("path", dependant.path_params), ("query", dependant.query_params)):
        for field in fields:
            if _is_int(field.field_info.annotation):
                yield where, field.alias
    for sub in dependant.dependencies:
        yield from _integer_params(sub)


def _out_of_range(raw: str) -> bool:
    text = raw.strip()
    digits = text.removeprefix("-").removeprefix("+")
    if not digits.isdigit() or len(digits) < 19:
        return False
    return not INT64_MIN <= int(text) <= INT64_MAX


async def integers_within_64_bits(connection: HTTPConnection) -> None:
    if connection.scope["type"] != "http":  # websockets read their own query (close codes)
        return
    route = connection.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    problems: list[Problem] = []
    for where, name in _integer_params(dependant):
        values = (
            [connection.path_params.get(name)]
            if where == "path"
            else connection.query_params.getlist(name)
        )
        for value in values:
            if isinstance(value, str) and _out_of_range(value):
                problems.append(
                    Problem(
                        name,
                        "int_range",
                        "integer out of range (64 bits)",
                        {"min": INT64_MIN, "max": INT64_MAX},
                    )
                )
    if problems:
        raise InvalidInput(
            "; ".join(f"{p.field}: {p.message}" for p in problems),
            code="request.invalid",
            problems=[p.as_json() for p in problems],
        )
