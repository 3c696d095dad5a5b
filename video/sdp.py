"""Checks of what a peer sends before the SFU sees it: an SDP offer or answer, an ICE candidate.

Pure functions: each returns the reason (a stable word plus the offending line) a text is not a
WebRTC session description we accept, or None. WebRTC is always encrypted (DTLS-SRTP), ICE is
always there: an SDP without ICE credentials or a fingerprint is refused here, with its reason,
instead of as Janus's vaguer error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SDP_BYTES = 64 * 1024
MAX_MEDIA = 32
_LINE = re.compile(r"^[a-z]=.*$")
_MEDIA = re.compile(r"^m=(audio|video|application) (\d+)(?:/\d+)? ([A-Z/]+) (.+)$")
_CANDIDATE = re.compile(
    r"^candidate:\S{1,32} \d{1,3} (udp|tcp|UDP|TCP) \d{1,10} \S{1,255} \d{1,5} typ "
    r"(host|srflx|prflx|relay)( .*)?$"
)
_FINGERPRINT = re.compile(r"^a=fingerprint:(sha-1|sha-224|sha-256|sha-384|sha-512) [0-9A-Fa-f:]+$")


@dataclass(frozen=True)
class SdpProblem:
    """Why an SDP or a candidate is refused: ``reason`` is stable, ``line`` (1-based) or 0."""

    reason: str
    line: int = 0
    text: str = ""


def check_sdp(sdp: str, kind: str) -> SdpProblem | None:
    """None if ``sdp`` is a plausible WebRTC ``kind`` ("offer" or "answer"), else its problem."""
    if kind not in ("offer", "answer"):
        return SdpProblem("sdp.bad_type", text=kind)
    if not sdp.strip():
        return SdpProblem("sdp.empty")
    if len(sdp.encode()) > MAX_SDP_BYTES:
        return SdpProblem("sdp.too_large", text=str(len(sdp.encode())))
    lines = sdp.replace("\r\n", "\n").rstrip("\n").split("\n")
    if lines[0] != "v=0":
        return SdpProblem("sdp.no_version", 1, lines[0][:80])
    for number, line in enumerate(lines, start=1):
        if not _LINE.match(line) or "\r" in line or "\x00" in line:
            return SdpProblem("sdp.malformed_line", number, line[:80])
    session = _session_part(lines)
    for needed in ("o=", "s=", "t="):
        if not any(line.startswith(needed) for line in session):
            return SdpProblem("sdp.missing_session_line", text=needed)
    media = _media_sections(lines)
    if not media:
        return SdpProblem("sdp.no_media")
    if len(media) > MAX_MEDIA:
        return SdpProblem("sdp.too_many_media", text=str(len(media)))
    for start, section in media:
        problem = _check_media(start, section, session)
        if problem is not None:
            return problem
    return None


def check_candidate(candidate: str) -> SdpProblem | None:
    """None if ``candidate`` is an ICE candidate line (``candidate:...``), else its problem."""
    text = candidate.removeprefix("a=")
    if len(text) > 1024 or not _CANDIDATE.match(text):
        return SdpProblem("sdp.malformed_candidate", text=text[:80])
    return None


def media_mids(sdp: str) -> list[tuple[str, str]]:
    """The (kind, mid) of each m-line of a checked SDP, in order (audio, video, application)."""
    lines = sdp.replace("\r\n", "\n").split("\n")
    return [
        (section[0][2:].split(" ", 1)[0], _attribute(section, "mid") or str(index))
        for index, (_, section) in enumerate(_media_sections(lines))
    ]


def _session_part(lines: list[str]) -> list[str]:
    part = []
    for line in lines:
        if line.startswith("m="):
            break
        part.append(line)
    return part


def _media_sections(lines: list[str]) -> list[tuple[int, list[str]]]:
    sections: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        if line.startswith("m="):
            sections.append((number, [line]))
        elif sections:
            sections[-1][1].append(line)
    return sections


def _attribute(lines: list[str], name: str) -> str | None:
    for line in lines:
        if line.startswith(f"a={name}:"):
            return line.split(":", 1)[1]
    return None


def _check_media(start: int, section: list[str], session: list[str]) -> SdpProblem | None:
    found = _MEDIA.match(section[0])
    if found is None:
        return SdpProblem("sdp.malformed_media", start, section[0][:80])
    port, proto = int(found.group(2)), found.group(3)
    if port == 0:
        return None  # a rejected or removed m-line carries nothing else
    if "SAVPF" not in proto and proto != "UDP/DTLS/SCTP" and proto != "DTLS/SCTP":
        return SdpProblem("sdp.not_encrypted", start, section[0][:80])
    for name in ("ice-ufrag", "ice-pwd"):
        if (_attribute(section, name) or _attribute(session, name)) is None:
            return SdpProblem("sdp.no_ice_credentials", start, name)
    prints = [ln for ln in section + session if ln.startswith("a=fingerprint:")]
    if not prints:
        return SdpProblem("sdp.no_fingerprint", start)
    for line in prints:
        if not _FINGERPRINT.match(line):
            return SdpProblem("sdp.malformed_line", start, line[:80])
    for line in section:
        if line.startswith("a=candidate:") and check_candidate(line) is not None:
            return SdpProblem("sdp.malformed_candidate", start, line[:80])
    return None
