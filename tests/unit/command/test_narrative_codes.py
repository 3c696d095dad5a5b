"""Every system entry the server writes in an incident's narrative passes a code and parameters
that docs/errors.md lists ("Narrative"), so that a console words it with what it is given."""

from __future__ import annotations

import ast
from collections import defaultdict
from typing import get_args

from command import error_catalogue
from command.incidents.domain import NarrativeCode
from tests.support import error_sites

WRITERS = {"note", "system_entry", "_record"}  # changes.note, domain.system_entry, consulting


def _codes(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _codes(node.body) + _codes(node.orelse)
    return []


def _written() -> dict[str, set[frozenset[str]]]:
    """Each literal code given to a writer, with the keys of the literal dict beside it."""
    found: dict[str, set[frozenset[str]]] = defaultdict(set)
    for path in error_sites.source_files(()):
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(call, ast.Call):
                continue
            name = call.func.attr if isinstance(call.func, ast.Attribute) else None
            name = call.func.id if isinstance(call.func, ast.Name) else name
            given = {k.arg: k.value for k in call.keywords if k.arg}
            if name not in WRITERS or "code" not in given:
                continue
            params = given.get("params")
            keys = (
                frozenset(
                    k.value
                    for k in params.keys
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)
                )
                if isinstance(params, ast.Dict)
                else None
            )
            for code in _codes(given["code"]):
                if keys is not None:
                    found[code].add(keys)
                else:
                    found.setdefault(code, set())
    return found


def test_every_code_written_is_a_narrative_code_and_most_are_written_literally() -> None:
    written = _written()
    assert set(written) <= set(get_args(NarrativeCode))
    # the consultation's changes pass their code through _record, which is seen too
    assert len(written) >= len(get_args(NarrativeCode)) - 1


def test_the_docs_give_each_code_the_parameters_written() -> None:
    documented = {r.code: r.params for r in error_catalogue.read() if r.section == "Reasons"}
    wrong = [
        f"{code}: written with {sorted(keys)}, documented {sorted(documented.get(code, ()))}"
        for code, given in sorted(_written().items())
        for keys in given
        if keys != documented.get(code)
    ]
    assert wrong == []
