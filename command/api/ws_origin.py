"""Which browser pages may open the service's websockets: the Origin check.

A browser sends ``Origin`` with every websocket handshake and, unlike for ``fetch``, applies no
same-origin rule to websockets itself: without this check any page on the internet that a
signed-in console user visits could open ``/api/v1/events/ws`` with a token it got hold of
(cross-site websocket hijacking). Accepted: the service's own origin (the ``Host`` the browser
connected to) and the origins listed in ``CAD_ALLOWED_ORIGINS``.

A handshake without ``Origin`` is accepted: only browsers send it, and browsers always send it,
so its absence means a non-browser client (a unit's terminal, an SMS gateway, a test, a
script), which a web page cannot impersonate and which still needs a valid token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def normalised(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, without a default port or a trailing slash."""
    parts = urlsplit(origin.strip().lower().rstrip("/"))
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return ""
    if port is not None and str(port) != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}" if parts.scheme and host else ""


def _host_only(netloc: str, scheme: str) -> str:
    value = netloc.strip().lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default and value.endswith(f":{default}"):
        value = value[: -len(default) - 1]
    return value


def allowed(origin: str | None, host: str | None, listed: frozenset[str]) -> bool:
    """May a handshake with this ``Origin`` (None: not sent) to this ``Host`` go ahead?"""
    if origin is None:
        return True
    wanted = normalised(origin)
    if not wanted:
        return False  # "null" (a sandboxed frame, a file) or garbage
    if wanted in listed:
        return True
    if host is None:
        return False
    scheme, _, netloc = wanted.partition("://")
    return netloc == _host_only(host, scheme)


def parse_list(text: str) -> frozenset[str]:
    """``CAD_ALLOWED_ORIGINS``: comma-separated origins, e.g. ``https://cad.example``."""
    return frozenset(n for n in (normalised(item) for item in text.split(",")) if n)
