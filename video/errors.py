"""Errors of the video package, one hierarchy: consultations, signaling frames and the media
plane. ``command.errors.status_for`` maps their ``kind`` to HTTP; the signaling websocket sends
their ``code`` and ``params`` in an error frame."""

from __future__ import annotations

from typing import Any, ClassVar


class VideoError(Exception):
    """Something wrong with a consultation or a participant, said plainly."""

    kind: ClassVar[str] = "invalid"
    #: stable, for consoles to word the error in their language (docs/errors.md)
    code: str = "video.invalid"

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.params = params


class InvalidInput(VideoError):
    """Input that cannot be used (an unknown media kind, a bitrate out of range)."""

    kind = "invalid"
    code = "video.invalid"


class Forbidden(VideoError):
    """The caller may not do this in this consultation (not its host, not invited)."""

    kind = "forbidden"
    code = "video.forbidden"


class Conflict(VideoError):
    """The consultation's or participant's state does not allow it."""

    kind = "conflict"
    code = "video.conflict"


class NotFound(VideoError):
    """No such consultation, room or feed."""

    kind = "not_found"
    code = "video.not_found"


class MediaPlaneError(VideoError):
    """The media plane (the SFU) could not carry out a request: it is down, slow or refused."""

    kind = "unavailable"
    code = "video.sfu_failed"
