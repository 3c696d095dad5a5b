"""The headers every answer gets: the strict policy everywhere (the API's reference included),
no-store on the API, and nothing a handler set itself overwritten."""

from __future__ import annotations

from command.api.security_headers import CSP, headers_for


def _names(path: str, present: set[bytes] | None = None) -> dict[bytes, bytes]:
    return dict(headers_for(path, present or set()))


def test_the_console_gets_the_strict_policy_and_may_be_cached() -> None:
    headers = _names("/console/console.js")
    assert headers[b"content-security-policy"] == CSP.encode()
    assert "'unsafe-inline'" not in CSP
    assert "frame-ancestors 'none'" in CSP
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"referrer-policy"] == b"no-referrer"
    assert b"cache-control" not in headers


def test_api_answers_are_not_stored() -> None:
    assert _names("/api/v1/incidents")[b"cache-control"] == b"no-store"


def test_the_api_reference_has_the_strict_policy_too() -> None:
    assert _names("/docs/")[b"content-security-policy"] == CSP.encode()


def test_a_header_the_handler_set_is_kept() -> None:
    assert b"cache-control" not in _names("/api/v1/gis/tiles/1/2/3", {b"cache-control"})
