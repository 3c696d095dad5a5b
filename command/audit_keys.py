"""The audit chain's key: an HMAC key kept outside the database, in a file only its owner reads.

With the key, a row's chain hash cannot be recomputed by someone who can only reach the
database (its superuser included), so an edit followed by recomputing the chain is found. The
key is made on first use; losing it makes the keyed part of the chain unverifiable, so back it
up with the server's other secrets (not with the database). Its id (a digest of it) names it in
checkpoints without revealing it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from command.errors import Unavailable

KEY_BYTES = 32


@dataclass(frozen=True)
class ChainKey:
    secret: bytes = b""

    @property
    def id(self) -> str:
        return hashlib.sha256(b"cad audit key\0" + self.secret).hexdigest()[:16]

    def mac(self, message: str) -> str:
        return hmac.new(self.secret, message.encode(), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:  # never the secret, in any log or traceback
        return f"ChainKey(id={self.id})"


def load(path: Path, *, create: bool) -> ChainKey:
    """The key in ``path`` (hex), made there first when ``create`` and it does not exist."""
    if not path.exists():
        if not create:
            raise Unavailable(
                f"the audit key {path} is missing: the keyed chain cannot be checked",
                code="audit.key_missing",
                path=str(path),
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name of this attempt's own: servers started together each write their own file.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(KEY_BYTES) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)  # never replaces a key another process made meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    raw = path.read_text().strip()
    try:
        secret = bytes.fromhex(raw)
    except ValueError:
        secret = b""
    if len(secret) != KEY_BYTES:
        raise Unavailable(
            f"the audit key {path} is not {KEY_BYTES} bytes of hex",
            code="audit.key_invalid",
            path=str(path),
            bytes=KEY_BYTES,
        )
    return ChainKey(secret)
