"""A subscription's feeds while Janus queues an update behind a renegotiation under way: the
feed asked for counts as subscribed, so that the next update does not ask for it again (Janus
would then send that feed twice over one connection)."""

from __future__ import annotations

import asyncio
from typing import Any

from video.janus import videoroom as vr
from video.janus.client import JanusEvent, Jsep
from video.janus.plane import JanusSubscriberLeg
from video.media_plane import Renegotiate


def _streams(*feeds: int) -> list[dict[str, Any]]:
    return [{"mid": str(i), "type": "video", "feed_id": f, "feed_mid": "0", "active": True}
            for i, f in enumerate(feeds)]


class _Handle:
    """Janus's side of one handle: answers ``update`` as told, queues events."""

    id = 7

    def __init__(self) -> None:
        self.events: asyncio.Queue[JanusEvent] = asyncio.Queue()
        self.answers: list[JanusEvent] = []
        self.asked: list[dict[str, Any]] = []

    async def message(self, body: dict[str, Any], jsep: Jsep | None = None) -> JanusEvent:
        self.asked.append(body)
        return self.answers.pop(0)

    async def detach(self) -> None:
        return None


class _Session:
    async def destroy(self) -> None:
        return None


async def test_a_queued_update_counts_until_janus_says_what_it_did() -> None:
    handle = _Handle()
    first = vr.Subscription(Jsep("offer", "v=0"), tuple(map(vr.SubscribedStream.of, _streams(1))))
    leg = JanusSubscriberLeg(_Session(), handle, first)  # type: ignore[arg-type]
    try:
        assert list(leg.feeds) == [1]
        handle.answers.append(JanusEvent("event", {"videoroom": "updating"}))
        assert await leg.update(add=[2]) is None
        assert list(leg.feeds) == [1, 2]  # asked for: not to be asked for again

        handle.events.put_nowait(JanusEvent(
            "event", {"videoroom": "updated", "streams": _streams(1, 2)}, Jsep("offer", "v=1")
        ))
        event = await asyncio.wait_for(anext(aiter(leg.events())), 5)
        assert isinstance(event, Renegotiate)
        assert (list(event.feeds), list(leg.feeds), leg.offer) == ([1, 2], [1, 2], "v=1")

        handle.answers.append(JanusEvent("event", {"videoroom": "updating"}))
        assert await leg.update(remove=[1]) is None
        assert list(leg.feeds) == [2]  # dropped: not carried any more, whatever comes first
        handle.answers.append(JanusEvent(
            "event", {"videoroom": "updated", "streams": _streams(2)}, Jsep("offer", "v=2")
        ))
        assert await leg.update(add=[3]) == "v=2"
        assert list(leg.feeds) == [2]  # what Janus answered: it carries feed 2
        assert [a.get("subscribe") for a in handle.asked] == [[{"feed": 2}], None, [{"feed": 3}]]
    finally:
        await leg.close()
