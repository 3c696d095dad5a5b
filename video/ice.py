"""The ICE servers a participant is given: STUN addresses, and TURN addresses with credentials
that expire (coturn's ``use-auth-secret`` scheme, the "TURN REST API" draft): the user name is
``expiry:who`` and the password the base64 HMAC-SHA1 of it under the secret shared with the
TURN server. No TURN password is stored anywhere, and a leaked one stops working at its expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class IceServer:
    """One entry of ``RTCConfiguration.iceServers``."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def as_json(self) -> dict[str, object]:
        entry: dict[str, object] = {"urls": list(self.urls)}
        if self.username is not None:
            entry["username"] = self.username
            entry["credential"] = self.credential
        return entry


def turn_credentials(secret: str, who: str, *, now: float, ttl_s: int) -> tuple[str, str]:
    """The user name and password that a TURN server sharing ``secret`` accepts until
    ``now + ttl_s`` (epoch seconds)."""
    if not secret:
        raise ValueError("a TURN secret is needed")
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    # A colon in ``who`` would be read by coturn as part of the expiry.
    username = f"{int(now) + ttl_s}:{who.replace(':', '_')}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(
    *,
    stun: Sequence[str],
    turn: Sequence[str],
    turn_secret: str | None,
    who: str,
    now: float,
    ttl_s: int,
) -> list[IceServer]:
    """What to give a participant: the STUN servers, then the TURN servers with credentials
    for ``who`` (none when no TURN server or no secret is configured)."""
    servers = [IceServer(urls=tuple(stun))] if stun else []
    if turn and turn_secret:
        username, password = turn_credentials(turn_secret, who, now=now, ttl_s=ttl_s)
        servers.append(IceServer(urls=tuple(turn), username=username, credential=password))
    return servers
