"""The plan library on the real database: YAML round trip, versions and their approval, a
readable diff, errors that name field and line with nothing saved, and only approved versions
matching."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.bootstrap import Container
from command.incidents.service import NewIncident
from plans.errors import PlanError
from plans.model import PlanStatus
from tests.support import dispatch_builders as b
from tests.support.plan_builders import COLLISION_YAML, line_of, yaml_with

KEY = "collision_main_road"

SELF_CROSSING = """\
scope:
  zones:
    - name: bow tie
      geometry:
        type: Polygon
        coordinates: [[[9.50, 47.13], [9.54, 47.15], [9.54, 47.13], [9.50, 47.15], [9.50, 47.13]]]
"""


async def test_export_then_import_gives_the_same_plan(parts: Container) -> None:
    lib = parts.plan_library
    first = await lib.import_yaml(COLLISION_YAML, "user:sup1")
    assert (first.key, first.version, first.status) == (KEY, 1, PlanStatus.DRAFT)
    exported = await lib.export_yaml(KEY, 1)
    second = await lib.import_yaml(exported, "user:sup1")
    assert second.version == 2
    assert second.plan == first.plan
    assert await lib.export_yaml(KEY, 2) == exported
    assert "主干道多车相撞预案" in exported
    assert await lib.diff(KEY, 1, 2) == []


async def test_versions_are_kept_with_who_approved_and_a_diff(parts: Container) -> None:
    lib = parts.plan_library
    await lib.import_yaml(COLLISION_YAML, "user:sup1")
    changed = yaml_with("deadline_min: 5", "deadline_min: 3")
    changed = yaml_with("evacuation_m: 300", "evacuation_m: 500", changed)
    await lib.import_yaml(changed, "user:sup1")
    await lib.act(KEY, 1, "submit", "user:sup1")
    approved = await lib.act(KEY, 1, "approve", "user:lead1")
    assert approved.status is PlanStatus.APPROVED
    assert approved.approved_by == "user:lead1"
    assert approved.approved_at is not None
    assert approved.submitted_by == "user:sup1"

    with pytest.raises(PlanError) as caught:
        await lib.act(KEY, 2, "approve", "user:lead1")
    assert caught.value.code == "plan.version_status_refused"

    await lib.act(KEY, 2, "submit", "user:sup1")
    await lib.act(KEY, 2, "approve", "user:lead1")
    versions = await lib.versions(KEY)
    assert [(v.version, v.status) for v in versions] == [
        (1, PlanStatus.RETIRED),
        (2, PlanStatus.APPROVED),
    ]
    assert versions[0].retired_by == "user:lead1"

    changes = {c.field: c.describe() for c in await lib.diff(KEY, 1, 2)}
    assert changes == {
        "tasks[1].deadline_min": "tasks[1].deadline_min: 5.0 -> 3.0",
        "evacuation_m": "evacuation_m: 300.0 -> 500.0",
    }


@pytest.mark.parametrize(
    ("broken", "code", "field", "needle"),
    [
        (
            yaml_with("  priority: {min: 1, max: 3}", "  priority: {min: 1, max: 3"),
            "plan.yaml_invalid",
            None,
            None,
        ),
        (
            yaml_with("[traffic_collision]", "[traffic_collision, traffic_jam]"),
            "plan.incident_type_unknown",
            "conditions.incident_types.any[1]",
            "incident_types: [traffic_collision",
        ),
        (
            yaml_with("heavy_rescue: 1", "crane: 1"),
            "plan.capability_unknown",
            "stages[1].resources.crane",
            "crane: 1",
        ),
        (
            yaml_with("cordon_m: 100\n", "cordon_m: 100\n" + SELF_CROSSING),
            "plan.zone_invalid",
            "scope.zones[0].geometry",
            "geometry:",
        ),
        (
            yaml_with("    role: police\n", ""),
            "plan.field_not_text",
            "tasks[0].role",
            "- names: {zh-CN: 封闭道路",
        ),
    ],
)
async def test_a_wrong_plan_names_field_and_line_and_saves_nothing(
    parts: Container,
    map_engine: AsyncEngine,
    broken: str,
    code: str,
    field: str | None,
    needle: str | None,
) -> None:
    with pytest.raises(PlanError) as caught:
        await parts.plan_library.import_yaml(broken, "user:sup1")
    error = caught.value
    assert error.code == code
    if field is not None and needle is not None:
        assert error.params["field"] == field
        assert error.params["line"] == line_of(broken, needle)
    else:
        assert error.params["line"] == line_of(broken, "priority: {min: 1, max: 3") + 1
    assert error.message.startswith(f"line {error.params['line']}: ")
    assert await b.count(map_engine, "plan_versions") == 0


async def test_a_named_place_is_found_on_the_map(parts: Container, map_engine: AsyncEngine) -> None:
    async with map_engine.connect() as conn:
        place = (
            await conn.execute(
                text(
                    "SELECT name, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM gis_places "
                    "WHERE region = 'liechtenstein' ORDER BY id LIMIT 1"
                )
            )
        ).one()
    near = f'  near: {{place: "{place.name}", within_m: 800}}\n'
    version = await parts.plan_library.import_yaml(
        yaml_with("  words:\n", near + "  words:\n"), "user:sup1"
    )
    exported = await parts.plan_library.export_yaml(version.key, version.version)
    assert f"lon: {place.lon}" in exported
    with pytest.raises(PlanError) as caught:
        await parts.plan_library.import_yaml(
            yaml_with("  words:\n", "  near: {place: Atlantis, within_m: 800}\n  words:\n"),
            "user:sup1",
        )
    assert caught.value.code == "plan.place_unknown"
    assert caught.value.params["field"] == "conditions.near.place"


async def test_only_the_approved_version_matches(parts: Container) -> None:
    lib = parts.plan_library
    created = await parts.incidents.create(
        NewIncident("traffic_collision", *b.VADUZ_CENTRE, summary="two cars"), "user:ct1"
    )
    inc = created.incident
    await lib.import_yaml(COLLISION_YAML, "user:sup1")
    assert (await parts.incident_plans.current(inc.id)).matches == []
    await lib.act(KEY, 1, "submit", "user:sup1")
    assert (await parts.incident_plans.current(inc.id)).matches == []
    await lib.act(KEY, 1, "approve", "user:lead1")
    [match] = (await parts.incident_plans.current(inc.id)).matches
    assert (match.key, match.version) == (KEY, 1)
    await lib.act(KEY, 1, "retire", "user:lead1")
    assert (await parts.incident_plans.current(inc.id)).matches == []
