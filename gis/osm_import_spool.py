"""Basemap features of an extract kept on disk while it is read, ready for COPY.

A city's extract has millions of buildings, roads and land-use areas; held as Python objects
until the write they cost more memory than everything else of the import together. Each
feature is written here as it is read, as one line of PostgreSQL's COPY text format (layer,
kind, name, geometry as hex WKB) in an anonymous temporary file, and the writer streams the file
to the database in chunks. Memory stays constant whatever the size of the extract.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path

CHUNK_BYTES = 1 << 20
"""How much of the file one COPY message carries, and how much is buffered before a write."""

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
"""What COPY's text format escapes in a value."""

COLUMNS = ("layer", "kind", "name", "wkb")


def _value(text: str | None) -> str:
    return "\\N" if text is None else text.translate(_ESCAPES)


class FeatureSpool:
    """Features appended as COPY text lines to a temporary file (deleted when closed)."""

    def __init__(self, directory: Path | None = None) -> None:
        self._file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - closed by close()
        # closed with the spool too when nobody called close() (a parse read only to count)
        self._closer = weakref.finalize(self, self._file.close)
        self._pending: list[str] = []
        self._pending_chars = 0
        self.count = 0
        self.nbytes = 0

    def __len__(self) -> int:
        return self.count

    def add(self, layer: str, kind: str, name: str | None, wkb_hex: str) -> None:
        """One feature; ``wkb_hex`` is its geometry as hexadecimal WKB (EPSG:4326)."""
        line = f"{_value(layer)}\t{_value(kind)}\t{_value(name)}\t\\\\x{wkb_hex}\n"
        self._pending.append(line)
        self._pending_chars += len(line)
        self.count += 1
        if self._pending_chars >= CHUNK_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            data = "".join(self._pending).encode("utf-8")
            self._file.write(data)
            self.nbytes += len(data)
            self._pending = []
            self._pending_chars = 0

    def chunks(self) -> Iterator[bytes]:
        """The file from its start, in chunks of about :data:`CHUNK_BYTES`."""
        self._flush()
        self._file.flush()
        self._file.seek(0, os.SEEK_SET)
        while chunk := self._file.read(CHUNK_BYTES):
            yield chunk

    def close(self) -> None:
        self._pending = []
        self._closer()
