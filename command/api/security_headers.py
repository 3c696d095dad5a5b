"""The headers every answer carries, so that a browser confines what the pages may do.

- ``Content-Security-Policy``: scripts, styles, workers and connections from this service only,
  no inline script or style, no plug-ins, no framing (``frame-ancestors 'none'``). A script
  injected into a page (an incident note, a caller's name rendered by a future bug) does not
  run, and a page cannot be framed to trick a dispatcher into clicks (clickjacking). The map
  library runs its workers from ``blob:`` URLs and draws images from ``data:`` and ``blob:``.
  The API's reference (``/docs``) is the Swagger UI the app serves itself, under the same policy.
- ``X-Content-Type-Options: nosniff``: an upload or an answer is never run as a script or a
  style because its bytes look like one.
- ``Referrer-Policy: no-referrer``: no address of ours (a token in a websocket URL, an incident
  id) goes to another site in a ``Referer``.
- ``X-Frame-Options: DENY`` for browsers older than ``frame-ancestors``.
- ``Cache-Control: no-store`` on API answers: callers' names, numbers and locations stay out of
  browser and proxy caches (a shared machine in the centre, a proxy's disk).

HSTS is the TLS proxy's (docs/security.md): this service may be reached over plain HTTP
on 127.0.0.1, where ``Strict-Transport-Security`` would be meaningless or wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "child-src 'self' blob:",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

_COMMON: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def headers_for(path: str, present: set[bytes]) -> list[tuple[bytes, bytes]]:
    """The headers to add to an answer at ``path`` that has the headers ``present`` (lower
    case names)."""
    added = [*_COMMON, (b"content-security-policy", CSP.encode())]
    if path.startswith("/api/"):
        added.append((b"cache-control", b"no-store"))
    return [(name, value) for name, value in added if name not in present]


class SecurityHeaders:
    """The middleware: adds ``headers_for`` to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(headers_for(path, present))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
