"""The benchmark's aiortc relay, over real websockets and WebRTC on loopback: a participant who
has left is never offered to a later viewer, so a next phase that reuses the name waits for the
new sender instead of subscribing to the ended track."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from command.bench import video_baseline
from command.bench.video import RelayPeer
from ops.pgcluster import free_port
from video.media.pattern import PatternTrack


@pytest.fixture
async def relay_url() -> AsyncIterator[str]:
    port = free_port()
    server = asyncio.create_task(video_baseline.main(port))
    url = f"ws://127.0.0.1:{port}"
    for _ in range(250):  # until it listens
        try:
            await (await RelayPeer.join(url, "probe")).close()
            break
        except OSError:
            await asyncio.sleep(0.02)
    yield url
    server.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await server


async def _published(url: str, name: str, index: int) -> RelayPeer:
    peer = await RelayPeer.join(url, name)
    await peer.publish([PatternTrack(index, fps=15)])
    return peer


@pytest.mark.timeout(60)
async def test_a_participant_who_left_is_not_offered(relay_url: str) -> None:
    first = await _published(relay_url, "a", 0)
    viewer = await RelayPeer.join(relay_url, "b")
    await viewer.wait_for(1)  # "a" is published
    await viewer.close()
    await first.close()

    later = await RelayPeer.join(relay_url, "c")
    waiting = asyncio.create_task(later.wait_for(1))
    # "a" has gone: nothing is published until it comes back
    done, _ = await asyncio.wait([waiting], timeout=1.0)
    assert not done
    again = await _published(relay_url, "a", 0)
    await asyncio.wait_for(waiting, 20)
    await later.close()
    await again.close()
