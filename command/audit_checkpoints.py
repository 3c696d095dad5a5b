"""Checkpoints of the audit chain's head, kept outside the database.

After sealing, the sealer appends the chain's head (its ``seq`` and hash), the first keyed
``seq`` and what has been archived, with an HMAC under the chain key, to a file named for the
chain (``<audit dir>/<chain id>.checkpoints.jsonl``) and, when configured, to a syslog
receiver. ``verify`` then knows how far the chain reached and what it said there: removing the
newest rows, a truncation, or replacing the chain all contradict a checkpoint, while normal
growth after it does not. What was written after the newest checkpoint (at most
``CAD_AUDIT_CHECKPOINT_S`` of rows) is protected by the chain alone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from command.audit_keys import ChainKey

log = logging.getLogger(__name__)

SYSLOG_FACILITY_AUTHPRIV = 10
SYSLOG_NOTICE = 5


@dataclass(frozen=True)
class Checkpoint:
    chain: str
    seq: int
    hash: str
    keyed_from: int | None
    archived_upto: int
    at: str
    key: str  # the key's id

    def body(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class ReadLine:
    """One line of a checkpoint file: a checkpoint whose MAC holds, or why it does not."""

    number: int
    checkpoint: Checkpoint | None
    problem: str | None


def syslog_frame(message: str, *, host: str, app: str = "cad-audit") -> bytes:
    """An RFC 5424 message (authpriv.notice) carrying ``message``."""
    pri = SYSLOG_FACILITY_AUTHPRIV * 8 + SYSLOG_NOTICE
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"<{pri}>1 {stamp} {host} {app} {os.getpid()} checkpoint - {message}".encode()


class Checkpoints:
    """Writes and reads the checkpoint file of one audit directory."""

    def __init__(self, directory: Path, key: ChainKey, syslog: str | None = None) -> None:
        self.directory = directory
        self._key = key
        self._syslog = _address(syslog) if syslog else None
        self._host = socket.gethostname()

    def path(self, chain: str) -> Path:
        return self.directory / f"{chain}.checkpoints.jsonl"

    def line(self, checkpoint: Checkpoint) -> str:
        body = checkpoint.body()
        return json.dumps(
            {**json.loads(body), "mac": self._key.mac(body)}, sort_keys=True, separators=(",", ":")
        )

    def write(
        self, chain: str, seq: int, hash_: str, keyed_from: int | None, archived_upto: int
    ) -> Checkpoint:
        checkpoint = Checkpoint(
            chain=chain,
            seq=seq,
            hash=hash_,
            keyed_from=keyed_from,
            archived_upto=archived_upto,
            at=datetime.now(UTC).isoformat(),
            key=self._key.id,
        )
        line = self.line(checkpoint)
        self.directory.mkdir(parents=True, exist_ok=True)
        # One write of a whole line with O_APPEND: processes sharing the file do not interleave.
        fd = os.open(self.path(chain), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        if self._syslog is not None:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.sendto(syslog_frame(line, host=self._host), self._syslog)
            except OSError:
                log.warning("could not send the audit checkpoint to syslog %s", self._syslog)
        return checkpoint

    def read(self, chain: str) -> Iterator[ReadLine]:
        try:
            lines = self.path(chain).read_text().splitlines()
        except FileNotFoundError:
            return
        for number, raw in enumerate(lines, 1):
            yield self._parse(number, raw)

    def rewind(self, chain: str, head_seq: int, suffix: str) -> tuple[int, Path | None]:
        """After a restore to an earlier time the chain ends at ``head_seq`` on purpose: the
        checkpoints past it move, with the whole file as it was, to ``<file>.<suffix>``, and
        the file keeps those the restored chain reached. Returns how many moved, and where."""
        path = self.path(chain)
        try:
            lines = path.read_text().splitlines()
        except FileNotFoundError:
            return 0, None
        kept = [raw for raw in lines if not _past(raw, head_seq)]
        if len(kept) == len(lines):
            return 0, None
        aside = path.with_name(f"{path.name}.{suffix}")
        os.link(path, aside)  # the old file stays whole; never replaces one already there
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("".join(raw + "\n" for raw in kept))
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
        return len(lines) - len(kept), aside

    def _parse(self, number: int, raw: str) -> ReadLine:
        try:
            fields = json.loads(raw)
            mac = fields.pop("mac")
            checkpoint = Checkpoint(**fields)
        except (ValueError, TypeError, KeyError, AttributeError):
            return ReadLine(number, None, f"checkpoint line {number} cannot be read")
        if checkpoint.key != self._key.id:
            return ReadLine(number, None, f"checkpoint line {number} is under another key")
        if mac != self._key.mac(checkpoint.body()):
            return ReadLine(number, None, f"checkpoint line {number} was forged or changed")
        return ReadLine(number, checkpoint, None)


def _past(raw: str, head_seq: int) -> bool:
    """A line naming a row past ``head_seq`` (a line that cannot be read stays, to be reported)."""
    try:
        seq = json.loads(raw)["seq"]
    except (ValueError, TypeError, KeyError):
        return False
    return isinstance(seq, int) and seq > head_seq


def _address(raw: str) -> tuple[str, int]:
    host, _, port = raw.rpartition(":")
    return host or "127.0.0.1", int(port)
