"""The files attached to incidents (recordings, stills), stored under one directory and named
by their SHA-256.

A file is written to a temporary name in the same directory, flushed to disk (fsync), renamed
into place and the directory flushed: a crash leaves either no file or the whole file, never a
part under the final name. The database row written afterwards is the commit point: a file
without a row is unused (the same bytes get the same name, so a retry writes nothing twice), a
row always has its whole file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from command.errors import InvalidInput, NotFound, TooLarge

CHUNK = 1 << 20
#: the file name's extension by media type
EXTENSIONS = {
    "video/webm": ".webm",
    "audio/webm": ".webm",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
}


@dataclass(frozen=True)
class StoredFile:
    name: str
    sha256: str
    size: int


class AttachmentFiles:
    """The attachment directory; built once by the bootstrap."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path_of(self, name: str) -> Path:
        # Names are ours (checksum + extension), never a caller's: no path can leave the root.
        if "/" in name or name.startswith("."):
            raise NotFound(f"no stored file {name!r}", code="attachment.file_missing", name=name)
        path = self.root / name[:2] / name
        if not path.is_file():
            raise NotFound(f"no stored file {name!r}", code="attachment.file_missing", name=name)
        return path

    def put(self, source: bytes | Path, media_type: str) -> StoredFile:
        """Store ``source`` (bytes, or a file such as a finished recording, copied in chunks);
        blocking: call it off the event loop."""
        extension = EXTENSIONS.get(media_type)
        if extension is None:
            raise InvalidInput(
                f"media type {media_type!r} is not stored; known: {', '.join(sorted(EXTENSIONS))}",
                code="attachment.media_type_unknown",
                media_type=media_type,
                known=sorted(EXTENSIONS),
            )
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
        if size > self.max_bytes:
            raise TooLarge(
                f"the file is {size} bytes; at most {self.max_bytes} are accepted",
                code="attachment.too_large",
                size=size,
                max=self.max_bytes,
            )
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        digest = hashlib.sha256()
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(source):
                    digest.update(chunk)
                    out.write(chunk)
                    written += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            name = digest.hexdigest() + extension
            folder = self.root / name[:2]
            folder.mkdir(exist_ok=True)
            os.replace(tmp, folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(folder)
        _fsync_dir(self.root)
        return StoredFile(name, digest.hexdigest(), written)


def _chunks(source: bytes | Path) -> Iterator[bytes]:
    if isinstance(source, bytes):
        for start in range(0, len(source), CHUNK):
            yield source[start : start + CHUNK]
        return
    with source.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
