"""The errors of the Janus client: each keeps Janus's own code and reason as parameters."""

from __future__ import annotations

from video.errors import MediaPlaneError


class JanusError(MediaPlaneError):
    """Anything that went wrong talking to Janus (a media plane error with its own code)."""

    code = "video.sfu_failed"


class JanusUnavailable(JanusError):
    """Janus could not be reached, or the connection to it was lost."""

    code = "video.sfu_unavailable"


class JanusTimeout(JanusError):
    """Janus did not answer a request in time."""

    code = "video.sfu_timeout"

    def __init__(self, request: str, seconds: float) -> None:
        super().__init__(f"janus did not answer {request} in {seconds} s",
                         request=request, seconds=seconds)


class JanusApiError(JanusError):
    """Janus refused a request of its core API (``{"janus": "error"}``)."""

    code = "video.sfu_refused"

    def __init__(self, janus_code: int, reason: str, request: str) -> None:
        super().__init__(f"janus refused {request}: {janus_code} {reason}",
                         janus_code=janus_code, reason=reason, request=request)
        self.janus_code = janus_code
        self.reason = reason


class VideoRoomError(JanusError):
    """The VideoRoom plugin refused a request (its ``error_code``, e.g. 426 no such room)."""

    code = "video.room_refused"

    # the plugin's codes that callers act on (janus_videoroom.c)
    NO_SUCH_ROOM = 426
    ROOM_EXISTS = 427
    NO_SUCH_FEED = 428
    PUBLISHERS_FULL = 432
    ALREADY_PUBLISHED = 434
    NOT_PUBLISHED = 435
    INVALID_SDP = 437

    def __init__(self, janus_code: int, reason: str, request: str) -> None:
        super().__init__(f"videoroom refused {request}: {janus_code} {reason}",
                         janus_code=janus_code, reason=reason, request=request)
        self.janus_code = janus_code
        self.reason = reason


class SessionGone(JanusError):
    """The Janus session or handle was destroyed (timed out, detached, connection lost)."""

    code = "video.leg_gone"
