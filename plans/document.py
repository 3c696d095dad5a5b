"""A plan as a plain document (the mapping YAML and JSON carry) and back (pure).

``parse_plan`` checks every field and names the one that is wrong by its path
(``conditions.incident_types[1]``), so that the YAML reader can add the line; ``to_document``
writes the canonical form, which ``parse_plan`` reads back to an equal plan.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from plans.errors import FieldInvalid, InvalidInput
from plans.model import (
    COUNTS,
    LANGUAGES,
    LEVEL_NAMES,
    LEVEL_NUMBERS,
    AlarmStage,
    Condition,
    CountCondition,
    HazmatCondition,
    LevelCondition,
    LevelRule,
    NearCondition,
    Notification,
    Plan,
    PriorityCondition,
    Reference,
    Scope,
    Task,
    TimeCondition,
    TypesCondition,
    Vocabulary,
    WordsCondition,
    Zone,
)

KEY = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DISTANCE_M = 100_000.0
#: words conditions add to the score without being required, unless the plan says otherwise
DEFAULT_WEIGHT = {"words": 2.0}
DEFAULT_REQUIRED = {"words": False}
TOP_FIELDS = (
    "key",
    "names",
    "category",
    "scope",
    "conditions",
    "level_rules",
    "stages",
    "tasks",
    "notifications",
    "cordon_m",
    "evacuation_m",
    "references",
)


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FieldInvalid(
            field, "must be a mapping of names to values", code="plan.field_not_mapping"
        )
    return value


def _list(value: Any, field: str) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldInvalid(field, "must be a list", code="plan.field_not_list")
    return value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldInvalid(field, "must be a non-empty text", code="plan.field_not_text")
    return value.strip()


def _int(value: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise FieldInvalid(
            field,
            f"must be a whole number from {lo} to {hi}",
            code="plan.field_range",
            lo=lo,
            hi=hi,
        )
    return value


def _number(value: Any, field: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise FieldInvalid(
            field, f"must be a number from {lo} to {hi}", code="plan.field_range", lo=lo, hi=hi
        )
    return float(value)


def _known_fields(raw: Mapping[str, Any], field: str, known: Sequence[str]) -> None:
    for name in raw:
        if name not in known:
            where = f"{field}.{name}" if field else str(name)
            raise FieldInvalid(
                where,
                f"unknown field; known: {', '.join(known)}",
                code="plan.field_unknown",
                known=list(known),
            )


def _names(value: Any, field: str) -> dict[str, str]:
    raw = _mapping(value, field)
    _known_fields(raw, field, LANGUAGES)
    for language in LANGUAGES:
        if language not in raw:
            raise FieldInvalid(
                f"{field}.{language}",
                "is missing: every name is given in zh-CN and en",
                code="plan.name_missing",
            )
    return {language: _text(raw[language], f"{field}.{language}") for language in LANGUAGES}


def _level(value: Any, field: str) -> int:
    if isinstance(value, str) and value.strip().upper() in LEVEL_NUMBERS:
        return LEVEL_NUMBERS[value.strip().upper()]
    raise FieldInvalid(
        field, "must be a response level I, II, III or IV", code="plan.level_unknown"
    )


def _capability(value: Any, field: str, vocabulary: Vocabulary) -> str:
    name = _text(value, field)
    if name not in vocabulary.capabilities:
        known = sorted(vocabulary.capabilities)
        raise InvalidInput(
            f"{field}: unknown capability {name!r}; known: {', '.join(known)}",
            code="plan.capability_unknown",
            field=field,
            capability=name,
            known=known,
        )
    return name


def _incident_type(value: Any, field: str, vocabulary: Vocabulary) -> str:
    code = _text(value, field)
    if code not in vocabulary.incident_types:
        known = sorted(vocabulary.incident_types)
        raise InvalidInput(
            f"{field}: unknown incident type {code!r}; known: {', '.join(known)}",
            code="plan.incident_type_unknown",
            field=field,
            type=code,
            known=known,
        )
    return code


# --------------------------------------------------------------------------- conditions

CONDITION_KINDS = (
    "incident_types",
    "priority",
    "words",
    "near",
    "time",
    "casualties",
    "trapped",
    "linked_calls",
    "hazmat",
    "response_level",
)
_COMMON = ("required", "weight")


def _hours(value: Any, field: str) -> tuple[int, int]:
    match = (
        re.fullmatch(r"\s*(\d{1,2})\s*-\s*(\d{1,2})\s*", value) if isinstance(value, str) else None
    )
    if match is None:
        raise FieldInvalid(
            field, "must be hours like 22-06 (from-to, local time)", code="plan.hours_invalid"
        )
    start, end = int(match.group(1)), int(match.group(2))
    if start > 23 or end > 24 or start == end:
        raise FieldInvalid(
            field, "must be hours like 22-06 (from-to, local time)", code="plan.hours_invalid"
        )
    return start, end


def _condition(kind: str, value: Any, field: str, vocabulary: Vocabulary) -> Condition:
    if kind == "incident_types" and isinstance(value, list):
        value = {"any": value}
    raw = _mapping(value, field)
    common: dict[str, Any] = {
        "kind": kind,
        "required": DEFAULT_REQUIRED.get(kind, True),
        "weight": DEFAULT_WEIGHT.get(kind, 1.0),
    }
    if "required" in raw:
        if not isinstance(raw["required"], bool):
            raise FieldInvalid(
                f"{field}.required", "must be true or false", code="plan.field_not_bool"
            )
        common["required"] = raw["required"]
    if "weight" in raw:
        common["weight"] = _number(raw["weight"], f"{field}.weight", 0.0, 100.0)
    if kind == "incident_types":
        _known_fields(raw, field, ("any", *_COMMON))
        codes = _list(raw.get("any"), f"{field}.any")
        if not codes:
            raise FieldInvalid(
                f"{field}.any", "names at least one incident type", code="plan.field_empty"
            )
        return TypesCondition(
            **common,
            codes=tuple(
                _incident_type(c, f"{field}.any[{i}]", vocabulary) for i, c in enumerate(codes)
            ),
        )
    if kind == "priority":
        _known_fields(raw, field, ("min", "max", *_COMMON))
        lo = _int(raw.get("min", 1), f"{field}.min", 1, 4)
        hi = _int(raw.get("max", 4), f"{field}.max", 1, 4)
        if lo > hi:
            raise FieldInvalid(f"{field}.max", "must not be below min", code="plan.range_inverted")
        return PriorityCondition(**common, min=lo, max=hi)
    if kind == "words":
        _known_fields(raw, field, ("any", *_COMMON))
        words = _list(raw.get("any"), f"{field}.any")
        if not words:
            raise FieldInvalid(f"{field}.any", "names at least one word", code="plan.field_empty")
        return WordsCondition(
            **common, words=tuple(_text(w, f"{field}.any[{i}]") for i, w in enumerate(words))
        )
    if kind == "near":
        _known_fields(raw, field, ("place", "within_m", "lon", "lat", *_COMMON))
        for axis in ("lon", "lat"):
            if axis not in raw:
                raise FieldInvalid(
                    f"{field}.{axis}",
                    "is missing: the place's position (filled in from the map on import)",
                    code="plan.place_unresolved",
                )
        return NearCondition(
            **common,
            place=_text(raw.get("place"), f"{field}.place"),
            within_m=_number(raw.get("within_m"), f"{field}.within_m", 1.0, MAX_DISTANCE_M),
            lon=_number(raw["lon"], f"{field}.lon", -180.0, 180.0),
            lat=_number(raw["lat"], f"{field}.lat", -90.0, 90.0),
        )
    if kind == "time":
        _known_fields(raw, field, ("hours", "weekdays", "months", *_COMMON))
        days = []
        for i, day in enumerate(_list(raw.get("weekdays"), f"{field}.weekdays")):
            if day not in WEEKDAYS:
                raise FieldInvalid(
                    f"{field}.weekdays[{i}]",
                    f"must be one of {', '.join(WEEKDAYS)}",
                    code="plan.weekday_unknown",
                    known=list(WEEKDAYS),
                )
            days.append(WEEKDAYS.index(day))
        months = [
            _int(m, f"{field}.months[{i}]", 1, 12)
            for i, m in enumerate(_list(raw.get("months"), f"{field}.months"))
        ]
        hours = None if raw.get("hours") is None else _hours(raw["hours"], f"{field}.hours")
        if hours is None and not days and not months:
            raise FieldInvalid(field, "names hours, weekdays or months", code="plan.field_empty")
        return TimeCondition(
            **common, hours=hours, weekdays=frozenset(days), months=frozenset(months)
        )
    if kind in COUNTS:
        _known_fields(raw, field, ("at_least", *_COMMON))
        return CountCondition(
            **common, at_least=_int(raw.get("at_least"), f"{field}.at_least", 1, 100_000)
        )
    if kind == "hazmat":
        _known_fields(raw, field, ("present", *_COMMON))
        present = raw.get("present", True)
        if not isinstance(present, bool):
            raise FieldInvalid(
                f"{field}.present", "must be true or false", code="plan.field_not_bool"
            )
        return HazmatCondition(**common, present=present)
    _known_fields(raw, field, ("at_least", *_COMMON))
    return LevelCondition(**common, at_least=_level(raw.get("at_least"), f"{field}.at_least"))


def _conditions(value: Any, field: str, vocabulary: Vocabulary) -> tuple[Condition, ...]:
    raw = _mapping(value, field)
    _known_fields(raw, field, CONDITION_KINDS)
    return tuple(
        _condition(kind, raw[kind], f"{field}.{kind}", vocabulary)
        for kind in CONDITION_KINDS
        if kind in raw
    )


# --------------------------------------------------------------------------- the plan


def _scope(value: Any, vocabulary: Vocabulary) -> Scope:
    raw = _mapping(value if value is not None else {}, "scope")
    _known_fields(raw, "scope", ("jurisdictions", "zones"))
    jurisdictions = tuple(
        _text(j, f"scope.jurisdictions[{i}]")
        for i, j in enumerate(_list(raw.get("jurisdictions"), "scope.jurisdictions"))
    )
    zones = []
    for i, z in enumerate(_list(raw.get("zones"), "scope.zones")):
        where = f"scope.zones[{i}]"
        zone = _mapping(z, where)
        _known_fields(zone, where, ("name", "geometry"))
        zones.append(
            Zone(
                _text(zone.get("name"), f"{where}.name"),
                _mapping(zone.get("geometry"), f"{where}.geometry"),
            )
        )
    return Scope(jurisdictions, tuple(zones))


def _stages(value: Any, vocabulary: Vocabulary) -> tuple[AlarmStage, ...]:
    stages = []
    for i, s in enumerate(_list(value, "stages")):
        where = f"stages[{i}]"
        raw = _mapping(s, where)
        _known_fields(raw, where, ("names", "resources"))
        resources = _mapping(raw.get("resources"), f"{where}.resources")
        checked = {
            _capability(cap, f"{where}.resources.{cap}", vocabulary): _int(
                count, f"{where}.resources.{cap}", 0, 100
            )
            for cap, count in resources.items()
        }
        names = _names(raw["names"], f"{where}.names") if "names" in raw else {}
        stages.append(AlarmStage(i + 1, checked, names))
    return tuple(stages)


def _tasks(value: Any) -> tuple[Task, ...]:
    tasks = []
    for i, t in enumerate(_list(value, "tasks")):
        where = f"tasks[{i}]"
        raw = _mapping(t, where)
        _known_fields(raw, where, ("names", "role", "department", "deadline_min"))
        tasks.append(
            Task(
                i + 1,
                _names(raw.get("names"), f"{where}.names"),
                _text(raw.get("role"), f"{where}.role"),
                _text(raw.get("department"), f"{where}.department"),
                _number(raw.get("deadline_min"), f"{where}.deadline_min", 0.0, 7 * 24 * 60.0),
            )
        )
    return tuple(tasks)


def _level_rules(value: Any, vocabulary: Vocabulary) -> tuple[LevelRule, ...]:
    rules = []
    for i, r in enumerate(_list(value, "level_rules")):
        where = f"level_rules[{i}]"
        raw = _mapping(r, where)
        _known_fields(raw, where, ("level", "when", "names"))
        when = _conditions(raw.get("when"), f"{where}.when", vocabulary)
        if not when:
            raise FieldInvalid(
                f"{where}.when", "names at least one condition", code="plan.field_empty"
            )
        names = _names(raw["names"], f"{where}.names") if "names" in raw else {}
        rules.append(LevelRule(_level(raw.get("level"), f"{where}.level"), when, names))
    return tuple(rules)


def parse_plan(doc: Any, vocabulary: Vocabulary) -> Plan:
    """The plan a document describes, or ``InvalidInput`` naming the first wrong field."""
    raw = _mapping(doc, "plan")
    _known_fields(raw, "", TOP_FIELDS)
    key = _text(raw.get("key"), "key")
    if not KEY.match(key):
        raise FieldInvalid(
            "key", "must be 2-64 lowercase letters, digits or _", code="plan.key_invalid"
        )
    notifications = []
    for i, n in enumerate(_list(raw.get("notifications"), "notifications")):
        where = f"notifications[{i}]"
        item = _mapping(n, where)
        _known_fields(item, where, ("department", "contact", "channel"))
        notifications.append(
            Notification(
                _text(item.get("department"), f"{where}.department"),
                str(item.get("contact", "")).strip(),
                str(item.get("channel", "")).strip(),
            )
        )
    references = []
    for i, r in enumerate(_list(raw.get("references"), "references")):
        where = f"references[{i}]"
        item = _mapping(r, where)
        _known_fields(item, where, ("title", "url"))
        references.append(
            Reference(_text(item.get("title"), f"{where}.title"), str(item.get("url", "")).strip())
        )
    distances = {
        name: None if raw.get(name) is None else _number(raw[name], name, 1.0, MAX_DISTANCE_M)
        for name in ("cordon_m", "evacuation_m")
    }
    conditions = _conditions(raw.get("conditions", {}), "conditions", vocabulary)
    if not any(isinstance(c, TypesCondition) for c in conditions):
        raise FieldInvalid(
            "conditions.incident_types",
            "is missing: a plan names the incident types it is for",
            code="plan.types_missing",
        )
    return Plan(
        key=key,
        names=_names(raw.get("names"), "names"),
        category=_names(raw.get("category"), "category"),
        scope=_scope(raw.get("scope"), vocabulary),
        conditions=conditions,
        level_rules=_level_rules(raw.get("level_rules"), vocabulary),
        stages=_stages(raw.get("stages"), vocabulary),
        tasks=_tasks(raw.get("tasks")),
        notifications=tuple(notifications),
        cordon_m=distances["cordon_m"],
        evacuation_m=distances["evacuation_m"],
        references=tuple(references),
    )


# --------------------------------------------------------------------------- back to a document


def _condition_doc(c: Condition) -> dict[str, Any]:
    out: dict[str, Any]
    if isinstance(c, TypesCondition):
        out = {"any": list(c.codes)}
    elif isinstance(c, PriorityCondition):
        out = {"min": c.min, "max": c.max}
    elif isinstance(c, WordsCondition):
        out = {"any": list(c.words)}
    elif isinstance(c, NearCondition):
        out = {"place": c.place, "within_m": c.within_m, "lon": c.lon, "lat": c.lat}
    elif isinstance(c, TimeCondition):
        out = {}
        if c.hours is not None:
            out["hours"] = f"{c.hours[0]:02d}-{c.hours[1]:02d}"
        if c.weekdays:
            out["weekdays"] = [WEEKDAYS[d] for d in sorted(c.weekdays)]
        if c.months:
            out["months"] = sorted(c.months)
    elif isinstance(c, CountCondition):
        out = {"at_least": c.at_least}
    elif isinstance(c, HazmatCondition):
        out = {"present": c.present}
    else:
        assert isinstance(c, LevelCondition)
        out = {"at_least": LEVEL_NAMES[c.at_least]}
    if c.required != DEFAULT_REQUIRED.get(c.kind, True):
        out["required"] = c.required
    if c.weight != DEFAULT_WEIGHT.get(c.kind, 1.0):
        out["weight"] = c.weight
    return out


def _conditions_doc(conditions: Sequence[Condition]) -> dict[str, Any]:
    return {c.kind: _condition_doc(c) for c in conditions}


def to_document(plan: Plan) -> dict[str, Any]:
    """The canonical document of a plan (what export writes and import reads back)."""
    doc: dict[str, Any] = {
        "key": plan.key,
        "names": dict(plan.names),
        "category": dict(plan.category),
        "scope": {
            "jurisdictions": list(plan.scope.jurisdictions),
            "zones": [{"name": z.name, "geometry": dict(z.geometry)} for z in plan.scope.zones],
        },
        "conditions": _conditions_doc(plan.conditions),
        "level_rules": [
            {
                "level": LEVEL_NAMES[r.level],
                "when": _conditions_doc(r.when),
                **({"names": dict(r.names)} if r.names else {}),
            }
            for r in plan.level_rules
        ],
        "stages": [
            {**({"names": dict(s.names)} if s.names else {}), "resources": dict(s.resources)}
            for s in plan.stages
        ],
        "tasks": [
            {
                "names": dict(t.names),
                "role": t.role,
                "department": t.department,
                "deadline_min": t.deadline_min,
            }
            for t in plan.tasks
        ],
        "notifications": [
            {"department": n.department, "contact": n.contact, "channel": n.channel}
            for n in plan.notifications
        ],
        "cordon_m": plan.cordon_m,
        "evacuation_m": plan.evacuation_m,
        "references": [{"title": r.title, "url": r.url} for r in plan.references],
    }
    return doc
