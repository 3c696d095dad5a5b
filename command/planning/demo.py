"""The demo's plan library: the plans in ``plans/library/`` (zh-CN and en, for Liechtenstein)
imported and approved, and a few demo incidents they match, one of them with a plan active.

Idempotent: plans already in the library are left as they are, and the demo incidents are
logged only when the library was first loaded.
"""

from __future__ import annotations

import logging
from importlib import resources

from command.bootstrap import Container
from command.incidents.service import NewIncident
from plans.model import Facts
from plans.yaml_io import load_lined

log = logging.getLogger(__name__)

ACTOR = "demo"

#: (type, lon, lat, address, summary); matched by the library's plans
DEMO_INCIDENTS: tuple[tuple[str, float, float, str, str], ...] = (
    (
        "fire.structure",
        9.5226,
        47.1395,
        "Äulestrasse, Vaduz",
        "Fire on the 7th floor of a high-rise, smoke in the stairwell; 高层建筑七楼起火",
    ),
    (
        "hazmat",
        9.5241,
        47.1794,
        "Hilti Werk 1, Schaan",
        "Chemical leak in a warehouse, strong smell of gas; 仓库化学品泄漏",
    ),
    (
        "traffic_collision",
        9.5150,
        47.1560,
        "Landstrasse, Schaan",
        "Pile-up of several cars on the Landstrasse, a driver trapped; 多车相撞，司机被困",
    ),
)


def library_files() -> list[tuple[str, str]]:
    """The demo library: (file name, YAML text) of every plan shipped with the code."""
    folder = resources.files("plans") / "library"
    return sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


async def seed_plans(container: Container) -> int:
    """Import and approve the plans not in the library yet; the number imported."""
    library = container.plan_library
    present = {v.key for v in await library.latest()}
    imported = 0
    for name, text in library_files():
        document = load_lined(text).data
        if isinstance(document, dict) and document.get("key") in present:
            continue
        version = await library.import_yaml(text, ACTOR)
        await library.approve(version.key, version.version, ACTOR)
        imported += 1
        log.debug("demo plan %s from %s", version.key, name)
    if imported == len(library_files()):
        await _incidents(container)
    return imported


async def _incidents(container: Container) -> None:
    numbers = []
    for type_code, lon, lat, address, summary in DEMO_INCIDENTS:
        created = await container.incidents.create(
            NewIncident(type_code, lon, lat, address=address, summary=summary), ACTOR
        )
        numbers.append(created.incident)
    collision = numbers[-1]
    await container.incident_plans.report_facts(collision.id, Facts(5, 1, False), ACTOR)
    for inc in numbers:
        await container.incident_plans.rematch(inc.id, ACTOR)
    await container.activations.activate(collision.id, "collision_main_road", ACTOR)
