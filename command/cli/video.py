"""``cad video agent``: what runs in a mobile command vehicle (or at a fixed camera) to be in a
consultation: it joins with the unit's device token, sends a camera, a video file or the test
pattern, and joins again by itself after the link drops (``video.agent``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Sequence
from pathlib import Path

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer

from command.errors import InvalidInput
from command.settings import Settings
from video import agent
from video.media.pattern import PatternTrack
from video.media.tone import ToneTrack
from video.peer import Peer

# The CLI's exit status for an error a person caused (here: refused by the server).
REFUSED = 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    video = sub.add_parser("video", help="video consultations: the vehicle agent")
    actions = video.add_subparsers(dest="action", required=True)
    a = actions.add_parser("agent", help="join a consultation as a vehicle or a camera")
    a.add_argument("--token", required=True, help="the unit's device token")
    a.add_argument("--session", type=int, required=True, help="the consultation's id")
    a.add_argument(
        "--server",
        default=None,
        help="the command centre, e.g. ws://10.0.0.5:8000 (default: this machine's CAD_PORT)",
    )
    a.add_argument(
        "--source",
        default="pattern",
        help='"pattern" (a test pattern with a tone), a video file, or a camera device '
        "(/dev/video0)",
    )
    a.add_argument("--index", type=int, default=0, help="the test pattern's number (0-255)")
    a.add_argument("--no-audio", action="store_true", help="send video only")
    a.set_defaults(handler=agent_cmd)


def _tracks(source: str, index: int, audio: bool) -> Sequence[MediaStreamTrack]:
    """Fresh tracks for one join (a track ends with its connection)."""
    if source == "pattern":
        return [PatternTrack(index), *([ToneTrack(index)] if audio else [])]
    path = Path(source)
    if source.startswith("/dev/video"):
        player = MediaPlayer(source, format="v4l2", options={"video_size": "640x480"})
    else:
        player = MediaPlayer(str(path), loop=True)
    tracks = [t for t in (player.video, player.audio if audio else None) if t is not None]
    if not tracks:
        raise InvalidInput(f"{source} has neither video nor audio", code="video.source_empty",
                           source=source)
    return tracks


def agent_cmd(args: argparse.Namespace, settings: Settings) -> int:
    source = str(args.source)
    if source != "pattern" and not source.startswith("/dev/video") and not Path(source).is_file():
        raise InvalidInput(f"--source: no such file {source}", code="video.source_missing",
                           source=source)
    if not 0 <= args.index <= 255:
        raise InvalidInput(
            f"--index must be from 0 to 255, not {args.index}", code="cli.option_range",
            option="--index", min=0, max=255, value=args.index,
        )
    server = str(args.server or f"ws://127.0.0.1:{settings.port}").rstrip("/")
    if not server.startswith(("ws://", "wss://")):
        raise InvalidInput(f"--server must be a ws:// or wss:// address, not {server}",
                           code="video.server_invalid", server=server)

    async def run() -> agent.Outcome:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)

        async def joined(peer: Peer) -> None:
            print(f"joined consultation {args.session} as {peer.member} (feed {peer.feed})",
                  flush=True)

        return await agent.run(
            server, args.token, args.session,
            lambda: _tracks(source, args.index, not args.no_audio),
            on_joined=joined, stop=stop,
        )

    outcome = asyncio.run(run())
    print(f"left consultation {args.session}: {outcome.reason} after {outcome.joins} join(s)",
          flush=True)
    return REFUSED if agent.final(outcome.code) else 0
