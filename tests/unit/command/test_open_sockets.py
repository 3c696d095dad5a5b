"""This process's open sockets by token: the named ones closed with their ending's code and
reason, the others left; forgotten once closed; notifications that are not ours ignored."""

from __future__ import annotations

import pytest

from command.auth.revocations import ENDINGS, OpenSockets, decode


class _Socket:
    def __init__(self) -> None:
        self.closed: tuple[int, str] | None = None

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def test_only_the_named_tokens_sockets_close() -> None:
    sockets = OpenSockets()
    a1, a2, b = _Socket(), _Socket(), _Socket()
    sockets.add(1, a1.close)
    sockets.add(1, a2.close)
    forget_b = sockets.add(2, b.close)
    assert len(sockets) == 3
    assert await sockets.end([1, 99], "disabled") == 2
    assert a1.closed == a2.closed == (4401, "the account was disabled")
    assert b.closed is None
    assert sockets.token_ids == [2]
    forget_b()
    assert len(sockets) == 0
    assert await sockets.end([2], "roles") == 0
    assert ENDINGS["roles"].code == 4409


def test_notifications_are_decoded_or_refused() -> None:
    assert decode('{"t": [3, 4], "w": "revoked"}') == ([3, 4], "revoked")
    for payload in ('{"t": [3], "w": "nope"}', '{"t": "3", "w": "logout"}', "[]", "x"):
        with pytest.raises((ValueError, KeyError, TypeError)):
            decode(payload)
