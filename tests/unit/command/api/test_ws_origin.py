"""Which origins may open a websocket: the service's own, the configured ones, none other."""

from __future__ import annotations

import pytest

from command.api.ws_origin import allowed, normalised, parse_list

LISTED = parse_list("https://Console.Example/, http://wall.example:8080 ,,")


def test_the_list_is_normalised() -> None:
    assert frozenset({"https://console.example", "http://wall.example:8080"}) == LISTED
    assert normalised("HTTPS://cad.example:443/") == "https://cad.example"
    assert normalised("http://[::1]:8000") == "http://[::1]:8000"
    assert normalised("null") == ""
    assert normalised("http://x:notaport") == ""


@pytest.mark.parametrize(
    ("origin", "host", "ok"),
    [
        (None, "cad.example", True),  # not a browser
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("https://cad.example", "cad.example", True),
        ("https://cad.example", "cad.example:443", True),
        ("http://cad.example:80", "cad.example", True),
        ("https://console.example", "cad.example", True),
        ("http://wall.example:8080", "cad.example", True),
        ("http://wall.example", "cad.example", False),
        ("https://evil.example", "cad.example", False),
        ("https://cad.example.evil.example", "cad.example", False),
        ("http://127.0.0.1:8001", "127.0.0.1:8000", False),
        ("null", "cad.example", False),
        ("", "cad.example", False),
        ("https://cad.example", None, False),
    ],
)
def test_origins(origin: str | None, host: str | None, ok: bool) -> None:
    assert allowed(origin, host, LISTED) is ok
