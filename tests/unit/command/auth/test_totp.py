"""TOTP against the test vectors of RFC 6238 (appendix B, SHA-1) and RFC 4226 (appendix D),
and the window and replay rules."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from command.auth import totp

RFC_KEY = b"12345678901234567890"
SECRET = base64.b32encode(RFC_KEY).decode()


@pytest.mark.parametrize(
    ("unix", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc_6238_vectors(unix: int, expected: str) -> None:
    at = datetime.fromtimestamp(unix, UTC)
    assert totp.hotp(RFC_KEY, totp.step_at(at), digits=8) == expected
    assert totp.code_at(SECRET, at) == expected[-6:]


def test_rfc_4226_vectors() -> None:
    assert [totp.hotp(RFC_KEY, c) for c in range(4)] == ["755224", "287082", "359152", "969429"]


def test_a_code_is_taken_one_step_either_side_and_not_beyond() -> None:
    now = datetime(2026, 12, 2, 12, 0, 15, tzinfo=UTC)
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        code = totp.code_at(SECRET, now + timedelta(seconds=30 * offset))
        assert totp.matching_step(SECRET, code, now, None) == step + offset
    late = totp.code_at(SECRET, now - timedelta(seconds=60))
    assert totp.matching_step(SECRET, late, now, None) is None


def test_a_used_step_is_a_replay() -> None:
    now = datetime(2026, 12, 2, 12, 0, 15, tzinfo=UTC)
    code = totp.code_at(SECRET, now)
    step = totp.matching_step(SECRET, code, now, None)
    assert step is not None
    assert totp.matching_step(SECRET, code, now, step) is None
    assert totp.was_used(SECRET, code, now, step)
    assert not totp.was_used(SECRET, "000000" if code != "000000" else "111111", now, step)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 456"])
def test_malformed_codes_match_nothing(code: str) -> None:
    assert totp.matching_step(SECRET, code, datetime.now(UTC), None) is None


def test_secrets_and_uri() -> None:
    secret = totp.new_secret()
    assert len(totp.key_of(secret)) == totp.SECRET_BYTES
    assert totp.key_of(secret.lower()) == totp.key_of(secret)
    uri = totp.otpauth_uri(secret, "li.wei", "CAD")
    assert uri.startswith(f"otpauth://totp/CAD:li.wei?secret={secret}&issuer=CAD")
