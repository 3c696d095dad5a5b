"""The files the consoles are built against match the app: its OpenAPI document and the wording
of every code in docs/errors.md. When this fails, run ``python -m command.console_contract``
and ``npm run api`` in consoles/, and commit what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from command import console_contract, error_catalogue
from dispatch.units import Capability, UnitStatus
from plans.document import CONDITION_KINDS


@pytest.mark.parametrize(
    "path", [console_contract.OPENAPI, console_contract.ERRORS], ids=lambda p: p.name
)
def test_the_committed_file_is_what_the_app_makes(path: Path) -> None:
    made = console_contract.files()
    assert path in made
    assert path.read_text(encoding="utf-8") == made[path], (
        f"{path} is stale: run `python -m command.console_contract`"
    )


def test_the_catalogue_has_both_languages_of_every_documented_code() -> None:
    catalogue = error_catalogue.catalogue(error_catalogue.read())
    assert len(catalogue) > 200
    assert all(w["en"] and w["zh-CN"] for w in catalogue.values())


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_consoles_name_every_capability_unit_status_and_plan_condition(locale: str) -> None:
    # The recommendation and the board word these codes; a new one needs its words.
    words = json.loads((console_contract.CONSOLES / "src" / "locales" / f"{locale}.json")
                       .read_text(encoding="utf-8"))
    assert {c.value for c in Capability} <= {k for k, v in words["capability"].items() if v}
    assert {s.value for s in UnitStatus} <= {k for k, v in words["status"].items() if v}
    assert set(CONDITION_KINDS) <= {k for k, v in words["planCondition"].items() if v}
