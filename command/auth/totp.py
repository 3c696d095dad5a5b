"""Time-based one-time passwords (RFC 6238, HMAC-SHA1, 30 s steps, 6 digits); pure.

The secret must be kept so that the server can compute the expected code: unlike a password it
cannot be stored as a hash (``users.totp_secret``, base32). A code is accepted in its own time
step and one step either side (clock drift), and only for a step later than the last one used,
so that a code seen over a shoulder or in a proxy cannot be replayed in its window.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
from datetime import datetime
from urllib.parse import quote, urlencode

STEP_S = 30
DIGITS = 6
#: steps either side of now that are accepted
DRIFT_STEPS = 1
SECRET_BYTES = 20


def new_secret() -> str:
    """A random 160-bit secret in base32 without padding (what authenticator apps take)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def key_of(secret: str) -> bytes:
    """The key bytes of a base32 secret (spaces and case as an app shows them are fine)."""
    text = secret.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def step_at(at: datetime) -> int:
    return int(at.timestamp()) // STEP_S


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226's HOTP value of ``counter`` (dynamic truncation)."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def code_at(secret: str, at: datetime) -> str:
    return hotp(key_of(secret), step_at(at))


def matching_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to, within the drift and after ``last_step``; else None."""
    code = code.strip()
    if len(code) != DIGITS or not code.isdigit():
        return None
    key = key_of(secret)
    now = step_at(at)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def was_used(secret: str, code: str, at: datetime, last_step: int | None) -> bool:
    """Whether ``code`` is right but its step is already used (a replay, told apart)."""
    if last_step is None or matching_step(secret, code, at, None) is None:
        return False
    return matching_step(secret, code, at, last_step) is None


def otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app takes (as text or a QR code)."""
    label = quote(f"{issuer}:{account}", safe=":@")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_S,
        }
    )
    return f"otpauth://totp/{label}?{query}"
