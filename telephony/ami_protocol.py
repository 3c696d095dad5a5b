"""The Asterisk Manager Interface wire format: messages, an incremental parser, the encoder.

AMI is line based: ``Key: Value`` lines ending in CRLF, a blank line ends a message, and the
server opens with one banner line (``Asterisk Call Manager/13.0.0``). Keys may repeat (``Variable``
in ``Originate``), so a message keeps its pairs in order and answers lookups with the first match.

The parser is tolerant by design: a line without ``": "`` or an over-long line is logged and
skipped, never fatal; it counts what it skipped so health and tests can see it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024
MAX_MESSAGE = 1024 * 1024
BANNER_PREFIX = "Asterisk Call Manager/"


@dataclass(frozen=True, slots=True)
class AmiMessage:
    """One AMI message: its pairs in wire order, looked up by first occurrence."""

    pairs: tuple[tuple[str, str], ...]
    _index: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # the first occurrence of a key wins: fill in reverse order
        self._index.update(reversed(self.pairs))

    @classmethod
    def of(cls, *pairs: tuple[str, str], **fields: str) -> AmiMessage:
        return cls(tuple(pairs) + tuple(fields.items()))

    @classmethod
    def from_mapping(cls, fields: Mapping[str, str]) -> AmiMessage:
        return cls(tuple(fields.items()))

    def get(self, key: str, default: str = "") -> str:
        return self._index.get(key, default)

    def __getitem__(self, key: str) -> str:
        return self._index[key]

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def all(self, key: str) -> list[str]:
        """Every value of a repeated key (``Variable``, ``ChanVariable``)."""
        return [v for k, v in self.pairs if k == key]

    def as_dict(self) -> dict[str, str]:
        return dict(self._index)

    @property
    def event(self) -> str | None:
        return self._index.get("Event")

    @property
    def response(self) -> str | None:
        return self._index.get("Response") if "Event" not in self._index else None

    @property
    def action(self) -> str | None:
        return self._index.get("Action")

    @property
    def action_id(self) -> str | None:
        return self._index.get("ActionID")

    def encode(self) -> bytes:
        return encode(self.pairs)


def _check(text: str, what: str) -> str:
    if "\r" in text or "\n" in text:
        raise ValueError(f"AMI {what} may not contain a line break: {text!r}")
    return text


def encode(pairs: Iterable[tuple[str, str]]) -> bytes:
    """Serialise pairs as one AMI message. Refuses line breaks (they would inject lines)."""
    out: list[str] = []
    for key, value in pairs:
        _check(key, "key")
        if ":" in key or not key:
            raise ValueError(f"AMI key must be non-empty and without ':': {key!r}")
        out.append(f"{key}: {_check(str(value), 'value')}\r\n")
    out.append("\r\n")
    return "".join(out).encode("utf-8")


def action(name: str, action_id: str, /, *extra: tuple[str, str], **fields: str) -> bytes:
    """Encode an action with its ActionID first, as clients conventionally do."""
    pairs: list[tuple[str, str]] = [("Action", name), ("ActionID", action_id)]
    pairs.extend(fields.items())
    pairs.extend(extra)
    return encode(pairs)


class Parser:
    """Incremental parser: feed bytes, get complete messages. Never raises on bad input.

    Works a whole message at a time (split on the blank line, one decode per message) since
    this is the hottest loop of the bridge.
    """

    def __init__(self, expect_banner: bool = True) -> None:
        self._buffer = bytearray()
        self._expect_banner = expect_banner
        self.banner: str | None = None
        self.skipped_lines = 0
        self.messages = 0

    def feed(self, data: bytes) -> list[AmiMessage]:
        buf = self._buffer
        buf += data
        if self._expect_banner:
            nl = buf.find(b"\n")
            if nl < 0:
                return []
            line = _decode(bytes(buf[:nl])).rstrip("\r")
            self._expect_banner = False
            if line.startswith(BANNER_PREFIX) or ":" not in line:
                self.banner = line
                del buf[:nl + 1]
        crlf, lf = buf.rfind(b"\n\r\n"), buf.rfind(b"\n\n")
        end = max(crlf + 3 if crlf >= 0 else 0, lf + 2 if lf >= 0 else 0)
        if end == 0:
            if len(buf) > MAX_MESSAGE:
                self._skip(f"{len(buf)} bytes without the end of a message")
                buf.clear()
            return []
        complete = bytes(buf[:end])
        del buf[:end]
        if b"\r" in complete:
            complete = complete.replace(b"\r\n", b"\n")
        out: list[AmiMessage] = []
        for block in complete.split(b"\n\n"):
            if not block:
                continue
            msg = self._message(block)
            if msg is not None:
                out.append(msg)
        self.messages += len(out)
        return out

    def _message(self, block: bytes) -> AmiMessage | None:
        lines = _decode(block).split("\n")
        if len(block) <= MAX_LINE:
            # fast path: every line is "Key: value" with a key without spaces
            parts = [line.partition(": ") for line in lines if line]
            if all(sep and key and " " not in key for key, sep, _ in parts):
                return AmiMessage(tuple((key, value) for key, _, value in parts)) \
                    if parts else None
        pairs: list[tuple[str, str]] = []
        for line in lines:
            if not line:
                continue
            key, sep, value = line.partition(": ")
            if not sep:
                key, sep, value = line.partition(":")
            if not sep or not key or " " in key or len(line) > MAX_LINE:
                self._skip(f"garbled line {line[:120]!r}")
                continue
            pairs.append((key, value))
        return AmiMessage(tuple(pairs)) if pairs else None

    def _skip(self, why: str) -> None:
        self.skipped_lines += 1
        log.warning("AMI: skipped %s", why)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_all(data: bytes, expect_banner: bool = True) -> Iterator[AmiMessage]:
    """Parse a whole recorded stream (tests, replay)."""
    parser = Parser(expect_banner=expect_banner)
    yield from parser.feed(data)
    yield from parser.feed(b"\r\n")


def number(msg: AmiMessage, key: str, default: int | None = None) -> int | None:
    """An integer field, or ``default`` when it is missing or not a number (logged)."""
    raw = msg.get(key)
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        log.warning("AMI %s: field %s=%r is not a number", msg.event or msg.response, key, raw)
        return default


def caller_id(raw: str) -> str | None:
    """``<unknown>`` and empty mean no caller id."""
    value = raw.strip()
    if not value or value == "<unknown>":
        return None
    return value
