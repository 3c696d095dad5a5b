"""The README's `cad` examples run as written, in order, on a throwaway embedded cluster.

They run in a scratch working directory beside a link to the shared data, so that the README's
relative paths (``../shared/...``) mean what they mean in a checkout, and no ``.env`` of the
checkout applies. Examples that serve until stopped or that measure are listed as not run here.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import cad_in, embedded_cluster

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
SHARED = ROOT.parent / "shared"

#: Commands that finish on a test database: each example of these runs.
RUN = {
    ("db",),
    ("backup",),
    ("user",),
    ("device",),
    ("dispatch", "seed"),
    ("dispatch", "units"),
    ("gis", "import-osm"),
    ("gis", "geocode"),
    ("audit", "seal"),
    ("audit", "verify"),
    ("audit", "export"),
    ("audit", "archive"),
    ("plan", "list"),
}
#: Commands that serve until stopped, or measure: other tests run them.
NOT_RUN = {("serve",), ("demo",), ("ami-sim",), ("bench",), ("restore",)}
#: The batch file the geocoding example reads (``{"id", "query"}`` lines, as the README says).
QUERIES = [{"id": 1, "query": "Städtle 5, Vaduz"}, {"id": 2, "query": "Kunstmuseum"}]

_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass(frozen=True)
class Example:
    line: str
    env: dict[str, str]
    args: list[str]

    def kind(self) -> tuple[str, ...]:
        for key in (tuple(self.args[:2]), tuple(self.args[:1])):
            if key in RUN or key in NOT_RUN:
                return key
        return tuple(self.args[:1])


def examples(markdown: str) -> Iterator[Example]:
    """Every `cad` command line of the shell blocks, in order, with its leading VAR=value."""
    in_shell = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_shell = not in_shell and line.strip() == "```sh"
            continue
        if not in_shell:
            continue
        words = shlex.split(line, comments=True)
        env: dict[str, str] = {}
        while words and _ASSIGNMENT.match(words[0]):
            name, value = words.pop(0).split("=", 1)
            env[name] = value
        if words and Path(words[0]).name == "cad":
            yield Example(line.strip(), env, words[1:])


def test_examples_are_found_and_each_is_run_or_listed() -> None:
    found = list(examples(README.read_text()))
    assert len(found) > 10
    unlisted = [e.line for e in found if e.kind() not in RUN | NOT_RUN]
    assert unlisted == [], "a README example neither run nor listed in NOT_RUN"
    assert {e.kind() for e in found} >= RUN


@pytest.mark.slow
def test_readme_examples_run(tmp_path: Path) -> None:
    work = tmp_path / "checkout"
    work.mkdir()
    (tmp_path / "shared").symlink_to(SHARED)
    (work / "queries.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUERIES)
    )
    with embedded_cluster() as env:
        ran = 0
        for example in examples(README.read_text()):
            if example.kind() not in RUN:
                continue
            result = cad_in(
                work, *example.args, CAD_NEW_PASSWORD="a demo password", **env, **example.env
            )
            assert result.returncode == 0, f"{example.line}\n{result.stdout}\n{result.stderr}"
            assert "Traceback" not in result.stderr, example.line
            ran += 1
    assert ran >= len(RUN)
