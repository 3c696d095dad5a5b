"""The credentials ``video.ice`` hands out open a relay on a real coturn; a wrong or expired one
is refused by it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint

from tests.support.turn import TurnServer, turn_server
from video.ice import turn_credentials


@pytest.fixture(scope="module")
def coturn() -> Iterator[TurnServer]:
    with turn_server() as server:
        yield server


async def _allocate(server: TurnServer, username: str, password: str) -> tuple[str, int]:
    transport, _ = await create_turn_endpoint(
        asyncio.DatagramProtocol,
        server_addr=("127.0.0.1", server.port),
        username=username,
        password=password,
    )
    try:
        relayed: tuple[str, int] = transport.get_extra_info("sockname")
        return relayed
    finally:
        transport.close()


async def test_issued_credentials_open_a_relay(coturn: TurnServer) -> None:
    username, password = turn_credentials(coturn.secret, "unit:E12", now=time.time(), ttl_s=600)
    host, port = await _allocate(coturn, username, password)
    assert host == "127.0.0.1"
    assert 49160 <= port <= 49999


@pytest.mark.parametrize("case", ["wrong secret", "expired"])
async def test_a_wrong_or_expired_credential_is_refused(coturn: TurnServer, case: str) -> None:
    if case == "wrong secret":
        username, password = turn_credentials("not-the-secret", "x", now=time.time(), ttl_s=600)
    else:
        username, password = turn_credentials(coturn.secret, "x", now=time.time() - 700, ttl_s=600)
    with pytest.raises(stun.TransactionFailed, match="401"):
        await _allocate(coturn, username, password)
