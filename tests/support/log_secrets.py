"""The suite-wide check that no secret reaches a log line.

Every log record of the whole run, from every logger at DEBUG, goes to one file
(``LogFile``, installed by ``tests/conftest.py``), and so does the output of the ``cad``
subprocesses the tests run (``KNOWN.output``). At the end of the session the file is searched
(``leaks``) for every secret the suite used, registered where it is made: the passwords and
tokens of the builders, the tokens and passwords that pass through the live app's HTTP client
(sign-ins, device tokens issued), what ``cad`` was given or printed. Patterns catch what the
registry cannot know: a bearer credential or a ``token=`` that is not masked.

``KNOWN`` is one book for the test process: the builders are called from hundreds of places
that have no fixture at hand, and the book only grows.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from command.auth.password_policy import PasswordPolicy

#: secrets shorter than this are too likely to occur by chance (a port, a word)
MIN_SECRET = 8
#: nor is a string of a few repeated characters a secret (``"x" * 129``, refused as too long)
MIN_DISTINCT = 4
PATTERNS = (
    re.compile(r"\bbearer\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE),
    re.compile(r"[?&]token=(?!\*\*\*)[^&\s\"']{8,}", re.IGNORECASE),
)


@dataclass
class SecretBook:
    """The secrets the suite made or used."""

    secrets: set[str] = field(default_factory=set)
    outputs: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    common: frozenset[str] = field(default_factory=lambda: PasswordPolicy.shipped().common)

    def add(self, *secrets: str | None) -> None:
        with self._lock:
            self.secrets.update(
                s for s in secrets if s and len(s) >= MIN_SECRET and len(set(s)) >= MIN_DISTINCT
            )

    def output(self, what: str, text: str | None) -> None:
        """A subprocess's output (``cad serve``'s log, a command's stderr), to be searched."""
        if text:
            with self._lock:
                self.outputs.append((what, text))

    def from_json(self, body: bytes) -> None:
        """The ``token`` and ``password`` values of a JSON body (a sign-in, a new device).
        A common password is no one's secret: the app refuses it (tests send ``password`` to
        see it refused), and as a word it is in every route that changes one."""
        try:
            data = json.loads(body)
        except ValueError:
            return
        if isinstance(data, dict):
            for name in ("token", "password", "new_password", "totp", "otp"):
                value = data.get(name)
                if isinstance(value, str) and value.lower() not in self.common:
                    self.add(value)


KNOWN = SecretBook()


_WORD = re.compile(rf"[A-Za-z0-9_-]{{{MIN_SECRET},}}")


def leaks(text: str, secrets: set[str]) -> list[str]:
    """The lines of ``text`` that carry a known secret or match a pattern, with what they
    carried. One pass for the token-like secrets (looked up among the text's words), one
    search each for the others (passwords: few)."""
    words = {s for s in secrets if _WORD.fullmatch(s)}
    lengths = {len(s) for s in words}
    hits: list[tuple[int, str]] = []
    for match in _WORD.finditer(text):
        word = match.group()
        for n in lengths:
            for i in range(len(word) - n + 1):
                if word[i : i + n] in words:
                    hits.append((match.start(), f"secret {word[i : i + 4]}…"))
    for secret in secrets - words:
        at = text.find(secret)
        while at != -1:
            hits.append((at, f"secret {secret[:4]}…"))
            at = text.find(secret, at + 1)
    for pattern in PATTERNS:
        hits += [(m.start(), f"pattern {pattern.pattern!r}") for m in pattern.finditer(text)]
    found = []
    for at, what in sorted(hits):
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        line = text[start : end if end != -1 else len(text)]
        found.append(f"{what}: {line[:200]}")
    return found


class LogFile(logging.Handler):
    """Every record, formatted with its exception, one line each, to ``path``; it stays open
    until ``finish``."""

    def __init__(self, path: Path) -> None:
        super().__init__(logging.DEBUG)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("w", encoding="utf-8")
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._file.write(self.format(record).replace("\n", " | ") + "\n")
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        """Only flushed: ``logging.config.dictConfig`` (uvicorn calls it for every server a
        test starts) closes every handler there is, and this one must outlive them all."""
        self.flush()

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def finish(self) -> None:
        """The end of the run: closed for good."""
        self._file.close()
        super().close()


def check(path: Path, book: SecretBook) -> list[str]:
    """Search the log file and the subprocesses' outputs; what leaked."""
    parts = [path.read_text(encoding="utf-8")]
    parts += [f"[{what}] " + text.replace("\n", f"\n[{what}] ") for what, text in book.outputs]
    return leaks("\n".join(parts), book.secrets)
