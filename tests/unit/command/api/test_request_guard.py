"""The edge's checks on bytes: refused values named by their field, limits per route."""

from __future__ import annotations

from command.api.request_guard import (
    INT64_MAX,
    Limits,
    body_problems,
    json_problems,
    query_problems,
    text_problem,
)


def test_nul_and_lone_surrogates_are_refused_and_ordinary_text_is_not() -> None:
    assert text_problem("Landstrasse 12, 3. Stock 北京", "address") is None
    nul = text_problem("a\x00b", "address")
    assert nul is not None
    assert (nul.field, nul.code) == ("address", "string_nul")
    lone = text_problem("a\ud800b", "narrative")
    assert lone is not None
    assert lone.code == "string_unicode"


def test_json_values_are_named_by_their_path() -> None:
    document = {
        "type": "fire",
        "units": [{"id": "E1"}, {"id": "E2\x00"}],
        "priority": INT64_MAX + 1,
        "ok": INT64_MAX,
        "flag": True,
    }
    found = {(p.field, p.code) for p in json_problems(document)}
    assert found == {("units.1.id", "string_nul"), ("priority", "int_range")}


def test_query_strings_and_forms_name_the_parameter() -> None:
    assert query_problems(b"q=Landstrasse+12&after=5") == []
    found = query_problems(b"q=a%00b&after=1")
    assert [(p.field, p.code) for p in found] == [("q", "string_nul")]
    bad_utf8 = query_problems(b"q=%ff%fe")
    assert [(p.field, p.code) for p in bad_utf8] == [("q", "string_unicode")]
    form = body_problems("application/x-www-form-urlencoded", b"username=%00&password=x")
    assert [(p.field, p.code) for p in form] == [("username", "string_nul")]


def test_bodies_that_are_not_json_are_left_to_the_route() -> None:
    assert body_problems("application/json", b"{not json") == []
    assert body_problems("application/json; charset=utf-8", b'{"a": "\\u0000"}')[0].field == "a"
    assert body_problems("text/plain", b"\x00") == []


def test_the_longest_prefix_decides_the_limit() -> None:
    limits = Limits(1000, (("/api/v1/auth/", 10), ("/api/v1/", 100)))
    assert limits.for_path("/api/v1/auth/login") == 10
    assert limits.for_path("/api/v1/incidents") == 100
    assert limits.for_path("/console/") == 1000
