"""The API contract: every route says what it answers, every error answer has one shape."""

from __future__ import annotations

from typing import Any

import pytest

from command.app import create_app
from command.settings import Settings

# Answers that are not JSON objects of ours: a binary tile, a CSV file, a MapLibre style
# document (its shape is MapLibre's specification), an incident's attached recording or still,
# and routes that answer with no body.
NOT_OURS = {
    ("get", "/api/v1/gis/tiles/{z}/{x}/{y}.pbf"),
    ("get", "/api/v1/incidents/response-times.csv"),
    ("get", "/api/v1/gis/style.json"),
    ("get", "/api/v1/incidents/{incident_id}/attachments/{attachment_id}"),
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app(Settings(ami_enabled=False)).openapi()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _success(op: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    [(status, answer)] = [(s, r) for s, r in op["responses"].items() if s.startswith("2")]
    return status, answer


def _is_described(schema: dict[str, Any], spec: dict[str, Any]) -> bool:
    """A schema that names its fields (directly, by reference, or as a list of such)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return bool(spec["components"]["schemas"][name].get("properties"))
    if schema.get("type") == "array":
        return _is_described(schema.get("items", {}), spec)
    return bool(schema.get("properties"))


def test_every_route_describes_its_answer(spec: dict[str, Any]) -> None:
    undescribed = []
    for method, path, op in _operations(spec):
        status, answer = _success(op)
        if (method, path) in NOT_OURS or status == "204":
            continue
        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
        if not _is_described(schema, spec):
            undescribed.append(f"{method.upper()} {path}")
    assert undescribed == []


def test_no_body_routes_say_204(spec: dict[str, Any]) -> None:
    for method, path, op in _operations(spec):
        status, answer = _success(op)
        if status == "204":
            assert "content" not in answer, f"{method} {path}"


def test_every_route_documents_the_error_body(spec: dict[str, Any]) -> None:
    error = spec["components"]["schemas"]["ErrorOut"]
    assert set(error["required"]) == {"code", "message"}
    assert set(error["properties"]) == {"code", "message", "params"}
    for method, path, op in _operations(spec):
        if path == "/api/v1/health":
            continue
        assert op["responses"]["422"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorOut"
        }, f"{method} {path}"


def test_the_check_catches_an_untyped_answer() -> None:
    """An operation answering a bare object is reported (the check above cannot pass blindly)."""
    spec: dict[str, Any] = {
        "components": {"schemas": {"Thing": {"properties": {"a": {}}}, "Blob": {}}}
    }
    assert _is_described({"$ref": "#/components/schemas/Thing"}, spec)
    assert not _is_described({"$ref": "#/components/schemas/Blob"}, spec)
    assert not _is_described({"type": "object", "additionalProperties": True}, spec)
    assert not _is_described({}, spec)
