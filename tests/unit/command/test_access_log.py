"""Tokens, bearer credentials and passwords never reach a log line: the records every logger
makes are masked (access lines, websocket handshakes, error bodies, exceptions)."""

from __future__ import annotations

import logging
import sys

import pytest

from command.log_redaction import redact, redact_record

FORMAT = '%s - "%s %s HTTP/%s" %d'


def _record(msg: str, args: tuple[object, ...] | None = None) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, "", 0, msg, args, None)


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/api/v1/events/ws?after=3&token=abc.DEF-1", "/api/v1/events/ws?after=3&token=***"),
        ("/api/v1/telephony/ws?token=s3cr3t&seat=x", "/api/v1/telephony/ws?token=***&seat=x"),
        ("/api/v1/health", "/api/v1/health"),
        ("/api/v1/gis/geocode?q=tokenstrasse", "/api/v1/gis/geocode?q=tokenstrasse"),
    ],
)
def test_token_redacted_in_access_lines(path: str, logged: str) -> None:
    record = redact_record(_record(FORMAT, ("127.0.0.1:5", "GET", path, "1.1", 101)))
    # uvicorn's access formatter unpacks the five arguments: they stay five.
    assert isinstance(record.args, tuple)
    assert len(record.args) == 5
    assert record.getMessage() == f'127.0.0.1:5 - "GET {logged} HTTP/1.1" 101'


class _Request:
    """Something logged by its text, as the websockets library logs a handshake."""

    def __str__(self) -> str:
        return "GET /api/v1/units/ws?token=Zm9vYmFy HTTP/1.1\r\nAuthorization: Bearer Zm9v"


def test_objects_logged_are_masked_in_their_text() -> None:
    record = redact_record(_record("< %s", (_Request(),)))
    assert (
        record.getMessage()
        == "< GET /api/v1/units/ws?token=*** HTTP/1.1\r\nAuthorization: Bearer ***"
    )


def test_secret_fields_and_exceptions_are_masked() -> None:
    assert redact('{"username": "ann", "password": "hunter2 22"}') == (
        '{"username": "ann", "password": "***"}'
    )
    assert redact("{'token': 'abc'}") == "{'token': '***'}"
    try:
        raise ValueError("refused token=abc123")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, "", 0, "failed", None, sys.exc_info())
    redact_record(record)
    assert record.exc_text is not None
    assert "abc123" not in record.exc_text
    assert "token=***" in record.exc_text
