"""How the media plane names a participant's recorded tracks, and reading those names back.

Janus records each published stream of a room into ``<room folder>/<base>-<kind>-<mindex>.mjr``.
The base is ours, set when a participant publishes: ``m-<member, hex>-<publish time, ms>``, so
that the files say whose they are after the participant has left, and a participant who
publishes again gets files of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_TRACK = re.compile(
    r"^m-(?P<member>[0-9a-f]+)-(?P<ms>\d+)-(?P<kind>audio|video)-(?P<mindex>\d+)\.mjr$"
)


def base_of(member: str, published_ms: int) -> str:
    return f"m-{member.encode().hex()}-{published_ms}"


@dataclass(frozen=True)
class Track:
    """One recorded stream: whose, from which publishing, audio or video."""

    path: Path
    member: str
    published_ms: int
    kind: str


def track_of(path: Path) -> Track | None:
    """The track a file holds; None: not a track we named."""
    found = _TRACK.match(path.name)
    if found is None:
        return None
    try:
        member = bytes.fromhex(found["member"]).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return Track(path, member, int(found["ms"]), found["kind"])


def tracks_in(folder: Path) -> dict[tuple[str, int], list[Track]]:
    """The folder's tracks by publishing (member, publish time): one recording each."""
    found: dict[tuple[str, int], list[Track]] = {}
    for path in sorted(folder.glob("*.mjr")):
        track = track_of(path)
        if track is not None:
            found.setdefault((track.member, track.published_ms), []).append(track)
    return found
