"""Secrets kept out of every log line: tokens, passwords, one-time codes.

``install`` wraps the process's log record factory, so that every record, from every logger
(ours, uvicorn's, the websockets library's request lines at DEBUG, httpx's URLs), at every
level, is redacted once when it is made, before any handler or filter sees it: its message is
formatted and masked, and so is the text of its exception. A record made below a logger's
level is never made, so the cost is only that of the lines that are written anyway.

What is masked (``redact``): ``token=`` in query strings, ``Authorization: Bearer`` values,
and ``"token"``, ``"password"``, ``"new_password"``, ``"code"``-like JSON fields carrying
secrets (``SECRET_FIELDS``). Browsers cannot set headers on websockets, so a console passes its
token as ``?token=``: that is why the URLs of every access and handshake line need it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

MASK = "***"
#: JSON fields whose values are secrets wherever they appear (bodies logged on an error)
SECRET_FIELDS = ("token", "password", "new_password", "old_password", "totp", "otp", "secret")

_QUERY_TOKEN = re.compile(r"((?:^|[?&;\s\"'])(?:access_)?token=)[^&\s\"']+", re.IGNORECASE)
_BEARER = re.compile(r"(\bbearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_JSON_FIELD = re.compile(
    r"""((?:["'])(?:""" + "|".join(SECRET_FIELDS) + r""")(?:["'])\s*:\s*["'])[^"']*""",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with every token, bearer credential and secret JSON field masked."""
    if not text:
        return text
    text = _QUERY_TOKEN.sub(rf"\1{MASK}", text)
    text = _BEARER.sub(rf"\1{MASK}", text)
    return _JSON_FIELD.sub(rf"\1{MASK}", text)


_PLAIN = (str, int, float, bool, type(None))


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message, arguments and exception text masked.

    Plain arguments are masked one by one and kept, so that formatters that read them
    (uvicorn's access formatter unpacks its five) still can. When the formatted message still
    carries a secret (in the format, across arguments), or an argument is not plain (a request,
    a frame, bytes: a secret may hide in its text), the message is formatted once and masked.
    """
    args = record.args
    if isinstance(args, tuple) and all(isinstance(a, _PLAIN) for a in args):
        record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it later, as it would
        return record
    masked = redact(message)
    if masked != message or not isinstance(record.args, tuple):
        # The secret is in the format, spans arguments, or hides in an object's text.
        record.msg = masked
        record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class _Redacting:
    """A log record factory that masks what the factory it wraps makes."""

    def __init__(self, factory: Callable[..., logging.LogRecord]) -> None:
        self.factory = factory

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(self.factory(*args, **kwargs))


def install() -> None:
    """Redact every record this process makes from now on (once per process: a second call
    does not wrap the factory again)."""
    if not isinstance(logging.getLogRecordFactory(), _Redacting):
        logging.setLogRecordFactory(_Redacting(logging.getLogRecordFactory()))
