"""Plan documents for tests: a small valid plan to vary, and the vocabulary of the centre."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from command.bootstrap import Container
from command.incidents.domain import DEFAULT_TYPES
from command.planning.demo import library_files
from dispatch.units import Capability
from plans.conditions import Situation
from plans.model import Vocabulary

VOCABULARY = Vocabulary(
    incident_types=frozenset(DEFAULT_TYPES), capabilities=frozenset(c.value for c in Capability)
)

#: a square around Vaduz centre (lon, lat)
VADUZ_SQUARE: dict[str, Any] = {
    "type": "Polygon",
    "coordinates": [[[9.51, 47.13], [9.53, 47.13], [9.53, 47.15], [9.51, 47.15], [9.51, 47.13]]],
}

BASE: dict[str, Any] = {
    "key": "collision",
    "names": {"zh-CN": "交通事故预案", "en": "Traffic collision plan"},
    "category": {"zh-CN": "交通", "en": "Traffic"},
    "conditions": {
        "incident_types": ["traffic_collision"],
        "priority": {"min": 1, "max": 3},
    },
    "stages": [
        {"resources": {"engine": 1, "ambulance_bls": 1}},
        {"resources": {"heavy_rescue": 1, "ambulance_als": 1}},
    ],
    "tasks": [
        {
            "names": {"zh-CN": "封闭道路", "en": "Close the road"},
            "role": "police",
            "department": "Landespolizei",
            "deadline_min": 10,
        },
        {
            "names": {"zh-CN": "通知医院", "en": "Notify the hospital"},
            "role": "dispatcher",
            "department": "Notruf 144",
            "deadline_min": 5,
        },
    ],
    "notifications": [{"department": "Landespolizei", "contact": "+423 236 71 11"}],
    "cordon_m": 100,
    "evacuation_m": 250,
    "references": [{"title": "Verkehrsunfall SOP", "url": "https://example.li/sop"}],
}


def document(**changes: Any) -> dict[str, Any]:
    """The base plan with top-level fields replaced (``None`` removes one)."""
    doc = copy.deepcopy(BASE)
    for name, value in changes.items():
        if value is None:
            doc.pop(name, None)
        else:
            doc[name] = value
    return doc


def situation(**changes: Any) -> Situation:
    base: dict[str, Any] = {
        "type_code": "traffic_collision",
        "priority": 2,
        "response_level": 4,
        "lon": 9.521,
        "lat": 47.141,
        "local_time": datetime(2026, 12, 2, 14, 0),
        "jurisdiction": "Vaduz",
    }
    base.update(changes)
    return Situation(**base)


DEFAULT_TYPES_LIST: list[str] = sorted(DEFAULT_TYPES)


#: A plan as people write it by hand (line numbers matter to the tests that break it).
COLLISION_YAML = """\
key: collision_main_road
names:
  zh-CN: 主干道多车相撞预案
  en: Multi-vehicle collision on a main road
category:
  zh-CN: 交通事故
  en: Traffic
conditions:
  incident_types: [traffic_collision]
  priority: {min: 1, max: 3}
  words:
    any: [trapped, pile-up, 被困]
    weight: 3
stages:
  - names: {zh-CN: 第一出动, en: First alarm}
    resources: {engine: 1, ambulance_bls: 1, police_patrol: 1}
  - names: {zh-CN: 第二出动, en: Second alarm}
    resources: {heavy_rescue: 1, ambulance_als: 2}
level_rules:
  - level: II
    when: {casualties: {at_least: 4}}
tasks:
  - names: {zh-CN: 封闭道路, en: Close the road}
    role: police
    department: Landespolizei
    deadline_min: 10
  - names: {zh-CN: 通知医院, en: Alert the hospital}
    role: dispatcher
    department: Notruf 144
    deadline_min: 5
notifications:
  - {department: Landespolizei, contact: "+423 236 71 11"}
cordon_m: 100
evacuation_m: 300
references:
  - {title: Einsatzplan Verkehrsunfall, url: "https://example.li/vu"}
"""


def yaml_with(old: str, new: str, text: str = COLLISION_YAML) -> str:
    """The plan YAML with one piece of text replaced (it must be there)."""
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    """The 1-based line where ``needle`` first appears."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


async def approved_demo_plans(container: Container) -> list[str]:
    """The demo library imported and approved (without the demo's incidents): their keys."""
    keys = []
    for _, text in library_files():
        version = await container.plan_library.import_yaml(text, "test")
        await container.plan_library.approve(version.key, version.version, "test")
        keys.append(version.key)
    return keys
