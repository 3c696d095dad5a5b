"""Plans as YAML that people edit by hand: read with the line of every field, written in the
canonical form.

``read_plan`` parses with PyYAML's composer (the nodes keep their marks), builds the plain
document and remembers the line of each path; a wrong field is reported with its line
(``plan.yaml_invalid`` for text that is not YAML at all). Zones are checked with the GIS zone
validation (a ring that crosses itself is refused, with the zone's line).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import yaml

from gis.errors import GisError
from gis.zones import parse_zone_geometry
from plans.document import parse_plan, to_document
from plans.errors import InvalidInput
from plans.model import Plan, Vocabulary

MAX_YAML = 1_000_000

_SCALARS = {
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
}


@dataclass(frozen=True)
class LinedDocument:
    """A document and the line (1-based) where each of its paths starts."""

    data: Any
    lines: dict[str, int]

    def line_of(self, field: str) -> int:
        """The line of ``field``, or of its nearest enclosing field that has one."""
        path = field
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.lines.get("", 1)


def _scalar(node: yaml.ScalarNode) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node)
    finally:
        loader.dispose()


def _build(node: yaml.Node, path: str, lines: dict[str, int]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_build(key_node, "\0", {}))
            child = f"{path}.{key}" if path else key
            lines[child] = key_node.start_mark.line + 1
            out[key] = _build(value_node, child, lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, f"{path}[{i}]", lines) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node)


def load_lined(text: str) -> LinedDocument:
    """The YAML document with its lines, or ``plan.yaml_invalid`` naming the line."""
    if len(text) > MAX_YAML:
        raise InvalidInput(
            f"the plan is longer than {MAX_YAML} characters",
            code="plan.yaml_too_long",
            max=MAX_YAML,
            line=1,
        )
    try:
        node = yaml.compose(io.StringIO(text), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = 1 if mark is None else mark.line + 1
        problem = str(exc.problem or exc.context or "not YAML")
        raise InvalidInput(
            f"line {line}: the plan is not valid YAML ({problem})",
            code="plan.yaml_invalid",
            line=line,
            problem=problem,
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidInput(
            f"line 1: the plan is not valid YAML ({exc})",
            code="plan.yaml_invalid",
            line=1,
            problem=str(exc),
        ) from None
    if node is None:
        raise InvalidInput(
            "line 1: the plan is empty", code="plan.yaml_invalid", line=1, problem="empty"
        )
    lines: dict[str, int] = {}
    return LinedDocument(_build(node, "", lines), lines)


def check_zones(plan: Plan, lined: LinedDocument | None = None) -> None:
    """Every zone of the plan's scope is a usable polygon (the GIS zone validation)."""
    for i, zone in enumerate(plan.scope.zones):
        field = f"scope.zones[{i}].geometry"
        try:
            parse_zone_geometry(dict(zone.geometry))
        except GisError as exc:
            line = lined.line_of(field) if lined else 0
            problem = exc.message
            raise InvalidInput(
                f"line {line}: {field}: {problem}",
                code="plan.zone_invalid",
                field=field,
                line=line,
                problem=problem,
                reason=exc.code,
            ) from None


def read_plan(text: str, vocabulary: Vocabulary) -> tuple[Plan, LinedDocument]:
    """The plan a YAML text describes; every error names its field and line."""
    return read_plan_lined(load_lined(text), vocabulary)


def read_plan_lined(lined: LinedDocument, vocabulary: Vocabulary) -> tuple[Plan, LinedDocument]:
    """The plan of a document already read (places may have been filled in since)."""
    try:
        plan = parse_plan(lined.data, vocabulary)
    except InvalidInput as exc:
        line = lined.line_of(str(exc.params.get("field", "")))
        exc.params["line"] = line
        exc.message = f"line {line}: {exc.message}"
        exc.args = (exc.message,)
        raise
    check_zones(plan, lined)
    return plan, lined


def write_plan(plan: Plan) -> str:
    """The plan as YAML, canonical and readable (unicode kept, keys in the document's order)."""
    text: str = yaml.safe_dump(
        to_document(plan), allow_unicode=True, sort_keys=False, width=100, default_flow_style=None
    )
    return text
