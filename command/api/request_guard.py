"""The edge: what a request may carry before any handler, store or database sees it.

An ASGI middleware, so that it runs before the body is read by anyone:

- a body longer than its route's limit is refused with 413, before a byte of it is read when
  ``Content-Length`` says so, and as soon as the limit is passed when it does not;
- a body that does not arrive in time (a ``Content-Length`` promising more than is sent) is
  refused with 408 instead of holding a worker;
- text PostgreSQL refuses (NUL, lone surrogates, invalid UTF-8) and integers past 64 bits are
  refused with 422 naming the field, in the query string and in JSON or form bodies, so that no
  such value ever reaches a statement (where it would be a server error after work was done).

Path and query integers are checked against the route's declared types by
``command.api.integer_bounds``; this module sees bytes, not routes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from command.errors import (
    BadRequest,
    CadError,
    InvalidInput,
    TooLarge,
    TooSlow,
    error_body,
    status_for,
)

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


@dataclass(frozen=True)
class Problem:
    """One refused value: where it was, a stable code, and the text."""

    field: str
    code: str
    message: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """As in the ``problems`` of a ``request.invalid`` answer."""
        return {
            "field": self.field,
            "code": self.code,
            "params": self.params,
            "message": self.message,
        }


@dataclass(frozen=True)
class Limits:
    """Body limits: a default, and larger or smaller ones for path prefixes (longest wins)."""

    default_bytes: int
    per_prefix: tuple[tuple[str, int], ...] = ()
    body_timeout_s: float = 10.0

    def for_path(self, path: str) -> int:
        best, limit = -1, self.default_bytes
        for prefix, size in self.per_prefix:
            if path.startswith(prefix) and len(prefix) > best:
                best, limit = len(prefix), size
        return limit


def text_problem(value: str, field: str) -> Problem | None:
    """NUL and lone surrogates: PostgreSQL stores neither in text."""
    if "\x00" in value:
        return Problem(field, "string_nul", "text may not contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return Problem(field, "string_unicode", "text is not valid Unicode (a lone surrogate)")
    return None


def json_problems(document: Any, path: str = "") -> Iterator[Problem]:
    """Every refused value in a parsed JSON document, named by its path (``units.2.id``)."""
    if isinstance(document, dict):
        for key, value in document.items():
            where = f"{path}.{key}" if path else str(key)
            problem = text_problem(str(key), where)
            if problem is not None:
                yield problem
            yield from json_problems(value, where)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from json_problems(value, f"{path}.{index}" if path else str(index))
    elif isinstance(document, str):
        problem = text_problem(document, path)
        if problem is not None:
            yield problem
    elif (
        isinstance(document, int)
        and not isinstance(document, bool)
        and not INT64_MIN <= document <= INT64_MAX
    ):
        yield Problem(
            path,
            "int_range",
            "integer out of range (64 bits)",
            {"min": INT64_MIN, "max": INT64_MAX},
        )


def query_problems(raw: bytes) -> list[Problem]:
    """Refused values in a query string or a form body, named by their parameter."""
    problems: list[Problem] = []
    for part in raw.split(b"&"):
        if not part:
            continue
        name_raw, _, value_raw = part.partition(b"=")
        name_bytes = unquote_to_bytes(name_raw.replace(b"+", b" "))
        value_bytes = unquote_to_bytes(value_raw.replace(b"+", b" "))
        name = name_bytes.decode("utf-8", "replace")
        for what, data in ((name, name_bytes), (name, value_bytes)):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(Problem(what, "string_unicode", "text is not valid UTF-8"))
                continue
            problem = text_problem(text, what)
            if problem is not None:
                problems.append(problem)
    return problems


def body_problems(content_type: str, body: bytes) -> list[Problem]:
    """Refused values in a body we can read; a body that is not valid JSON is left to the
    route's own validation, which names it."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return []
        return list(json_problems(document))
    if kind == "application/x-www-form-urlencoded":
        return query_problems(body)
    return []


def invalid(problems: list[Problem]) -> InvalidInput:
    return InvalidInput(
        "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems),
        code="request.invalid",
        problems=[p.as_json() for p in problems],
    )


class _Gone(Exception):
    """The client left before its body arrived: nothing to answer."""


class RequestGuard:
    """The ASGI middleware (outermost, so nothing reads a body before it)."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problems = query_problems(scope.get("query_string", b""))
        path_problem = text_problem(scope.get("path", ""), "path")
        if path_problem is not None:
            problems.insert(0, path_problem)
        if scope["type"] == "websocket":
            # A websocket handshake has no body; a refused query is told as a close code.
            if problems:
                await receive()  # the connect message
                await send({"type": "websocket.accept"})
                reason = f"{problems[0].field}: {problems[0].message}"
                await send({"type": "websocket.close", "code": 4422, "reason": reason[:120]})
                return
            await self.app(scope, receive, send)
            return
        try:
            if problems:
                raise invalid(problems)
            headers = dict(scope.get("headers", []))
            body = await self._read(scope, headers, receive)
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            found = body_problems(content_type, body) if body else []
            if found:
                raise invalid(found)
        except CadError as refused:
            await _answer(send, refused)
            return
        except _Gone:
            return
        # What was read is handed on as it came; with nothing read, the server's own receive.
        await self.app(scope, receive if body is None else _replay(body, receive), send)

    async def _read(
        self, scope: Scope, headers: dict[bytes, bytes], receive: Receive
    ) -> bytes | None:
        """The body, or None when there is none to read (nothing was received)."""
        limit = self.limits.for_path(scope.get("path", ""))
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                raise BadRequest(
                    "Content-Length is not a number", code="request.bad_length"
                ) from None
            if length > limit:
                raise _too_large(limit, length)
            if length == 0:
                return None
        elif (
            scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE")
            and b"transfer-encoding" not in headers
        ):
            return None
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + self.limits.body_timeout_s
        while True:
            left = deadline - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(left, 0.001))
            except TimeoutError:
                seconds = self.limits.body_timeout_s
                raise TooSlow(
                    f"the request body did not arrive within {seconds:g} s",
                    code="request.body_timeout",
                    seconds=seconds,
                ) from None
            if message["type"] == "http.disconnect":
                raise _Gone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit, size)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _too_large(limit: int, size: int) -> TooLarge:
    return TooLarge(
        f"the request body is larger than this route takes ({limit} bytes)",
        code="request.too_large",
        limit_bytes=limit,
        size_bytes=size,
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(send: Send, error: CadError) -> None:
    body = json.dumps(error_body(error)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status_for(error) or 400,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
