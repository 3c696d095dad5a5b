"""TURN credentials follow coturn's shared-secret scheme and expire; the ICE servers list holds
what is configured, and nothing more."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from video.ice import IceServer, ice_servers, turn_credentials


def test_credentials_are_the_hmac_of_expiry_and_name() -> None:
    username, password = turn_credentials("s3cret", "unit:E12", now=1_000.9, ttl_s=600)
    assert username == "1600:unit_E12"
    expected = hmac.new(b"s3cret", b"1600:unit_E12", hashlib.sha1).digest()
    assert base64.b64decode(password) == expected


def test_another_secret_gives_another_password() -> None:
    assert turn_credentials("a", "x", now=0, ttl_s=1) != turn_credentials("b", "x", now=0, ttl_s=1)


@pytest.mark.parametrize(("secret", "ttl"), [("", 60), ("s", 0), ("s", -5)])
def test_no_credentials_without_a_secret_or_a_lifetime(secret: str, ttl: int) -> None:
    with pytest.raises(ValueError, match=r"TURN secret|ttl_s"):
        turn_credentials(secret, "x", now=0, ttl_s=ttl)


def test_the_list_has_stun_then_turn_with_credentials() -> None:
    servers = ice_servers(
        stun=["stun:stun.example:3478"],
        turn=["turn:turn.example:3478?transport=udp", "turn:turn.example:3478?transport=tcp"],
        turn_secret="s",
        who="leader1",
        now=0,
        ttl_s=60,
    )
    assert servers[0] == IceServer(urls=("stun:stun.example:3478",))
    assert servers[1].username == "60:leader1"
    assert servers[1].as_json()["urls"] == list(servers[1].urls)
    assert "credential" in servers[1].as_json()
    assert "username" not in servers[0].as_json()


def test_no_turn_entry_without_a_secret_and_none_at_all_when_nothing_is_set() -> None:
    only_stun = ice_servers(
        stun=["stun:s"], turn=["turn:t"], turn_secret=None, who="x", now=0, ttl_s=60
    )
    assert only_stun == [IceServer(urls=("stun:s",))]
    assert ice_servers(stun=[], turn=[], turn_secret=None, who="x", now=0, ttl_s=60) == []
