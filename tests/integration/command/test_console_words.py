"""Every part the health reports has a name in both languages of the consoles' catalogues
(consoles/src/locales/), so that no part of the service's state stays in English in Chinese."""

from __future__ import annotations

import json

import pytest

from command.console_contract import CONSOLES
from tests.support.live import LiveApp


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_every_health_part_has_its_name(live: LiveApp, locale: str) -> None:
    words = json.loads((CONSOLES / "src" / "locales" / f"{locale}.json").read_text("utf-8"))
    parts = (await live.http.get("/api/v1/health")).json()["parts"]
    assert set(live.container.health.checks) == set(parts)
    missing = sorted(name for name in parts if not words["part"].get(name))
    assert missing == [], f"no {locale} name for health parts {missing}"
