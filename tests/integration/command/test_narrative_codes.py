"""The server's own narrative entries carry a code and parameters beside their English text: the
migration adds them (entries written before get no code and empty parameters), the use cases
write them, the incident's detail answers them, and every code has its words in both languages
of the consoles (errors.json, built from docs/errors.md)."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from command.console_contract import ERRORS
from command.incidents.domain import NarrativeCode
from ops import migrate
from tests.support import dispatch_builders as b
from tests.support.database import PgServer
from tests.support.live import LiveApp


async def test_the_migration_leaves_older_entries_without_a_code(pg_server: PgServer) -> None:
    # as the release before left it (the geocoder's snapshot, 0021, indexes the GIS tables)
    name = await pg_server.database_at("0002_gis")
    await pg_server.migrate(name, "0026_run_cards")
    engine = create_async_engine(pg_server.admin_url(name))
    try:
        async with engine.begin() as conn:
            # an entry as the server wrote it before codes (no incident row needed for it)
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(
                text(
                    "INSERT INTO incident_narrative (incident_id, at, author, kind, text) "
                    "VALUES (1, now(), 'disp1', 'system', 'assigned E1')"
                )
            )
        assert "0027_narrative_codes" in await migrate.pending(engine)
        await migrate.upgrade(engine, "0027_narrative_codes")
        assert "0027_narrative_codes" not in await migrate.pending(engine)
        async with engine.connect() as conn:
            row = (
                await conn.execute(text("SELECT text, code, params FROM incident_narrative"))
            ).one()
        assert (row.text, row.code, row.params) == ("assigned E1", None, {})
    finally:
        await engine.dispose()
        await pg_server.drop_database(name)


def _system(detail: dict[str, Any]) -> list[tuple[str | None, dict[str, Any], str]]:
    return [
        (n["code"], n["params"], n["text"]) for n in detail["narrative"] if n["kind"] == "system"
    ]


async def test_system_entries_come_with_their_code_and_parameters(
    app: LiveApp, map_engine: Any
) -> None:
    http = app.http
    people = await b.crew(http, map_engine)
    for uid in ("E1", "E2"):
        await b.add_unit(map_engine, uid, "engine", b.VADUZ_CENTRE)
    inc = await b.fire(http, people)
    iid = inc["id"]
    r = await http.post(
        f"/api/v1/incidents/{iid}/assignments",
        headers=people.dispatcher,
        json={"unit_ids": ["E1"]},
    )
    assert r.status_code == 201, r.text
    r = await http.post(
        f"/api/v1/incidents/{iid}/reassign",
        headers=people.dispatcher,
        json={"from_unit": "E1", "to_unit": "E2"},
    )
    assert r.status_code == 200, r.text
    r = await http.post(
        f"/api/v1/incidents/{iid}/status",
        headers=people.dispatcher,
        json={"status": "cancelled", "reason": "false alarm"},
    )
    assert r.status_code == 200, r.text

    r = await http.get(f"/api/v1/incidents/{iid}", headers=people.dispatcher)
    assert r.status_code == 200, r.text
    detail = r.json()
    [summary] = [n for n in detail["narrative"] if n["kind"] == "note"]
    assert (summary["text"], summary["code"], summary["params"]) == ("smoke", None, {})
    e1, e2 = "E1 (Engine)", "E2 (Engine)"
    assert _system(detail) == [
        ("narrative.units_assigned", {"callsigns": [e1]}, f"assigned {e1}"),
        (
            "narrative.unit_replaced",
            {"callsign": e2, "unit_id": "E2", "replaced": "E1"},
            f"reassigned: {e2} replaces E1",
        ),
        (
            "narrative.status_reason",
            {"status": "cancelled", "reason": "false alarm"},
            "cancelled: false alarm",
        ),
    ]


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_every_narrative_code_has_its_words(locale: str) -> None:
    words = json.loads(ERRORS.read_text("utf-8"))
    codes = get_args(NarrativeCode)
    assert "narrative.plan_activated" in codes
    missing = sorted(c for c in codes if not words.get(c, {}).get(locale))
    assert missing == [], f"no {locale} words for narrative codes {missing}"
