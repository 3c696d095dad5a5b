"""Tokens in websocket URLs never reach the access log."""

from __future__ import annotations

import logging

import pytest

from command.cli.serve import _RedactTokens

FORMAT = '%s - "%s %s HTTP/%s" %d'


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/api/v1/events/ws?after=3&token=abc.DEF-1", "/api/v1/events/ws?after=3&token=***"),
        ("/api/v1/telephony/ws?token=s3cr3t&seat=x", "/api/v1/telephony/ws?token=***&seat=x"),
        ("/api/v1/health", "/api/v1/health"),
        ("/api/v1/gis/geocode?q=tokenstrasse", "/api/v1/gis/geocode?q=tokenstrasse"),
    ],
)
def test_token_redacted(path: str, logged: str) -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        FORMAT,
        ("127.0.0.1:5", "GET", path, "1.1", 101),
        None,
    )
    assert _RedactTokens().filter(record)
    assert record.getMessage() == f'127.0.0.1:5 - "GET {logged} HTTP/1.1" 101'
