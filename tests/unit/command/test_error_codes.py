"""Every error of ours carries a specific, stable code and its parameters, listed in
docs/errors.md with its status, so that a console can word it in zh-CN or English; and every
reason code the server gives is listed there too."""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from pathlib import Path
from typing import get_args

import pytest

from command import error_catalogue
from command.api.schemas.common import Reason
from command.errors import InvalidInput
from command.incidents.domain import InvalidIncidentTransition, NarrativeCode
from command.supervision import SupervisionReason
from dispatch.errors import InvalidTransition
from dispatch.recommend import RejectionCode
from dispatch.timers import DEFAULT_LIMITS_S
from gis.geocode.model import ReasonCode
from tests.support import error_sites
from tests.support.error_sites import Site

# Still to be converted: other engineers are changing these files right now. Until they are
# converted their errors answer with the generic fallback codes, and the walk skips them.
NOT_YET_CONVERTED: tuple[str, ...] = ()

Classes = frozenset[type[BaseException]]


@pytest.fixture(scope="module")
def classes() -> Classes:
    return error_sites.error_classes()


@pytest.fixture(scope="module")
def sites(classes: Classes) -> list[Site]:
    return error_sites.all_sites(classes, NOT_YET_CONVERTED)


@pytest.fixture(scope="module")
def generic() -> frozenset[str]:
    return error_sites.generic_codes()


def _snippet_sites(source: str, classes: Classes) -> list[Site]:
    return error_sites.sites_in(
        source, "snippet.py", error_sites.imports_of(ast.parse(source)), classes
    )


def test_the_walk_finds_our_errors_wherever_they_are(classes: Classes, sites: list[Site]) -> None:
    assert {InvalidInput, InvalidTransition, InvalidIncidentTransition} <= classes
    assert {"invalid", "gis.invalid", "dispatch.conflict", "telephony.not_found"} <= (
        error_sites.generic_codes()
    )
    files = {s.file for s in sites}
    assert {"command/auth/service.py", "gis/coords.py", "dispatch/units.py"} <= files
    assert "telephony/bridge.py" in files
    assert len(sites) > 200
    assert not files & set(NOT_YET_CONVERTED)


def test_the_files_still_to_convert_exist() -> None:
    for path in NOT_YET_CONVERTED:
        assert (error_sites.ROOT / path).is_file(), path


def test_every_error_has_a_specific_code(sites: list[Site], generic: frozenset[str]) -> None:
    assert error_sites.unworded(sites, generic) == []


@pytest.mark.parametrize(
    ("snippet", "reported"),
    [
        ('from command.errors import InvalidInput\nraise InvalidInput("x")\n', True),
        (
            "from command import errors\n"
            "def login():\n"
            '    failure = errors.Unauthorized("no")\n'
            "    raise failure\n",
            True,
        ),
        ('from gis.errors import NotFound\nraise NotFound("x", region="r")\n', True),
        ('from command.errors import Conflict\nraise Conflict("x", code="conflict")\n', True),
        ('from command.errors import Conflict\nraise Conflict("x", code="Busy")\n', True),
        ('from command.errors import Conflict\nraise Conflict("x", code=CODE)\n', True),
        ('from command.errors import Conflict\nraise Conflict("x", code="unit.busy")\n', False),
        ('from gis.errors import InvalidCoordinates\nraise InvalidCoordinates("x")\n', False),
        (
            "from command.errors import InvalidInput\n"
            "try:\n"
            "    pass\n"
            "except ValueError as exc:\n"
            "    raise InvalidInput(str(exc), code=exc.code, **exc.params) from exc\n",
            False,
        ),
        (
            "from command.errors import InvalidInput\n"
            "try:\n"
            "    pass\n"
            "except ValueError as exc:\n"
            "    raise InvalidInput(str(exc), code=other.code) from exc\n",
            True,
        ),
        ('raise ValueError("x")\n', False),
    ],
)
def test_the_checker_reports_generic_codes(
    snippet: str, reported: bool, classes: Classes, generic: frozenset[str]
) -> None:
    problems = error_sites.unworded(_snippet_sites(snippet, classes), generic)
    assert bool(problems) is reported, problems
    assert all(p.startswith("snippet.py:") for p in problems)


def test_the_checker_reports_a_code_made_up_in_init(
    classes: Classes, generic: frozenset[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "made_up_codes.py").write_text(
        "from command.errors import InvalidInput\n"
        "class Rejected(InvalidInput):\n"
        '    code = "position.rejected"\n'
        "    def __init__(self, field: str, message: str) -> None:\n"
        '        super().__init__(message, code=f"position.{field}_invalid", field=field)\n',
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    rejected = importlib.import_module("made_up_codes").Rejected
    snippet = 'from made_up_codes import Rejected\nraise Rejected("lat", "lat must be a number")\n'
    problems = error_sites.unworded(_snippet_sites(snippet, classes | {rejected}), generic)
    assert problems == [
        "snippet.py:2: Rejected makes up its code in __init__; take code= from the raise site "
        "instead"
    ]


def test_the_checker_names_file_and_line(classes: Classes, generic: frozenset[str]) -> None:
    snippet = 'from command.errors import InvalidInput\n\n\nraise InvalidInput("x")\n'
    assert error_sites.unworded(_snippet_sites(snippet, classes), generic) == [
        "snippet.py:4: InvalidInput(...) has no code= and InvalidInput's own code 'invalid' "
        "is generic"
    ]


def test_every_interpolated_value_is_a_parameter(sites: list[Site]) -> None:
    assert [p for site in sites for p in error_sites.uninterpolated(site)] == []


def test_the_interpolation_check_reports_a_missing_parameter(classes: Classes) -> None:
    snippet = (
        "from command.errors import InvalidInput\n"
        "p, lo = 7, 1\n"
        'raise InvalidInput(f"priority {p} is below {lo}", code="incident.priority_range", p=p)\n'
    )
    [site] = _snippet_sites(snippet, classes)
    assert error_sites.uninterpolated(site) == [
        "snippet.py:3: {lo} is in the message but in no parameter"
    ]


def _by_code(sites: list[Site]) -> dict[str, list[Site]]:
    grouped: dict[str, list[Site]] = defaultdict(list)
    for site in sites:
        if site.code is not None:
            grouped[site.code].append(site)
    return grouped


def test_a_code_has_one_status_and_one_set_of_parameters(sites: list[Site]) -> None:
    mixed = []
    for code, group in _by_code(sites).items():
        statuses = {s.status for s in group}
        params = {s.params for s in group if s.params is not None}
        if len(statuses) > 1 or len(params) > 1:
            where = ", ".join(f"{s.where} {s.status} {sorted(s.params or ())}" for s in group)
            mixed.append(f"{code}: {where}")
    assert mixed == []


def _error_codes(classes: Classes, sites: list[Site]) -> dict[str, set[int]]:
    """Every error code that can reach a console, with the statuses it answers with."""
    codes: dict[str, set[int]] = defaultdict(set)
    for cls in classes:
        codes[str(getattr(cls, "code"))].add(error_sites.status_of(cls))  # noqa: B009
    for code, group in _by_code(sites).items():
        codes[code] |= {s.status for s in group}
    for path in error_sites.source_files(NOT_YET_CONVERTED):
        for code in error_sites.literal_codes(ast.parse(path.read_text(encoding="utf-8"))):
            codes.setdefault(code, set())
    return codes


def _reason_codes() -> set[str]:
    chosen: set[str] = set()
    for path in error_sites.source_files(NOT_YET_CONVERTED):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        chosen |= error_sites.keyword_codes(tree, error_sites.namespace(path, tree), {Reason})
    return (
        chosen
        | set(get_args(RejectionCode))
        | set(get_args(ReasonCode))
        | set(DEFAULT_LIMITS_S)
        | set(get_args(SupervisionReason))
        | set(get_args(NarrativeCode))
    )


def test_the_docs_list_every_error_code_and_no_other(classes: Classes, sites: list[Site]) -> None:
    used = _error_codes(classes, sites)
    documented = {r.code for r in error_catalogue.read() if r.section == "Errors"}
    assert "request.invalid" in used
    assert sorted(set(used) - documented) == [], "missing from docs/errors.md"
    assert sorted(documented - set(used)) == [], "in docs/errors.md but no longer used"


def test_the_docs_give_each_error_its_status_and_parameters(
    classes: Classes, sites: list[Site]
) -> None:
    used = _error_codes(classes, sites)
    by_code = _by_code(sites)
    wrong = []
    for row in error_catalogue.read():
        if row.section != "Errors" or row.code not in used:
            continue
        if used[row.code] and row.status not in used[row.code]:
            wrong.append(f"line {row.line} {row.code}: HTTP {row.status}, not {used[row.code]}")
        params = {s.params for s in by_code.get(row.code, []) if s.params is not None}
        if params and row.params not in params:
            wrong.append(f"line {row.line} {row.code}: params {sorted(row.params)}, not {params}")
    assert wrong == []


def test_the_docs_list_every_reason_code_and_no_other() -> None:
    reasons = _reason_codes()
    documented = {r.code for r in error_catalogue.read() if r.section == "Reasons"}
    assert {"recommendation.fastest", "slower", "address", "turnout", "narrative.merged"} <= reasons
    assert sorted(reasons - documented) == [], "missing from docs/errors.md"
    assert sorted(documented - reasons) == [], "in docs/errors.md but no longer used"


def test_each_code_is_listed_once_and_worded_with_its_parameters() -> None:
    found = error_catalogue.read()
    codes = [r.code for r in found]
    assert sorted({c for c in codes if codes.count(c) > 1}) == []
    assert {r.section for r in found} == {"Errors", "Reasons"}
    unknown = [
        f"line {r.line} {r.code}: {sorted(r.zh_placeholders - r.params)}"
        for r in found
        if not r.zh_placeholders <= r.params
    ]
    assert unknown == []
