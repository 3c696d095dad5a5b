"""The demo library: eight plans for Liechtenstein in zh-CN and en, imported and approved once,
with demo incidents that they match."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from command.bootstrap import Container
from command.planning.demo import library_files, seed_plans
from plans.model import PlanStatus
from plans.yaml_io import read_plan
from tests.support import dispatch_builders as b

EXPECTED = {
    "highrise_fire",
    "hazmat_industrial",
    "collision_main_road",
    "rhine_flood",
    "mass_casualty",
    "public_health_event",
    "missing_person_mountains",
    "building_collapse",
}


async def test_the_demo_plans_load_once_and_match_the_demo_incidents(
    parts: Container, map_engine: AsyncEngine
) -> None:
    assert await seed_plans(parts) == len(EXPECTED)
    latest = await parts.plan_library.latest()
    assert {v.key for v in latest} == EXPECTED
    assert all(v.status is PlanStatus.APPROVED for v in latest)
    for v in latest:
        assert v.plan.names["zh-CN"]
        assert v.plan.names["en"]
        assert all(t.names["zh-CN"] and t.names["en"] for t in v.plan.tasks)
        exported = await parts.plan_library.export_yaml(v.key)
        assert read_plan(exported, parts.plan_library.vocabulary)[0] == v.plan

    incidents = sorted(await parts.incidents.list_open(), key=lambda i: i.id)
    firsts = []
    for inc in incidents:
        found = (await parts.incident_plans.current(inc.id)).matches
        firsts.append(found[0].key)
        if inc.type_code == "traffic_collision":
            assert {"collision_main_road", "mass_casualty"} <= {m.key for m in found}
            assert inc.response_level.name == "II"
    assert firsts == ["highrise_fire", "hazmat_industrial", "collision_main_road"]

    assert await seed_plans(parts) == 0
    assert await b.count(map_engine, "plan_versions") == len(EXPECTED)
    assert await b.count(map_engine, "incidents") == len(incidents)
    assert await b.count(map_engine, "plan_activations") == 1


def test_the_library_ships_eight_plans() -> None:
    assert len(library_files()) == len(EXPECTED)
