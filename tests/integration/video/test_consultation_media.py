"""Consultations with real peers: aiortc participants join over the signaling websocket of a
running app, their media goes through a real Janus, and each checks what it receives by
decoding the others' test patterns (who sent it, and that the frame counter moves on).

Two participants, then four; a leader who joins late; one who vanishes without a goodbye; an
uninvited user refused; malformed SDP answered with an error frame and nothing broken."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from av import VideoFrame
from sqlalchemy.ext.asyncio import AsyncEngine

from ops.janus import JanusServer
from tests.support import builders
from tests.support.janus import start_janus
from tests.support.live import LiveApp, serve
from video.media.pattern import PatternTrack, identify
from video.media.tone import ToneTrack
from video.peer import Peer, PeerClosed, PeerError, Received

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def janus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JanusServer]:
    server = start_janus(tmp_path_factory.mktemp("janus"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def app(map_url: str, janus: JanusServer, tmp_path: Path) -> AsyncIterator[LiveApp]:
    async with serve(
        map_url,
        attachment_dir=tmp_path / "attachments",
        janus_url=janus.url,
        janus_api_secret=janus.api_secret(),
    ) as live:
        yield live


@dataclass(frozen=True)
class Seat:
    name: str
    headers: dict[str, str]

    @property
    def token(self) -> str:
        return self.headers["Authorization"].removeprefix("Bearer ")


async def _consultation(app: LiveApp, host: Seat, invited: Sequence[str]) -> int:
    r = await app.http.post("/api/v1/consultations", headers=host.headers,
                            json={"title": "Dam overflow"})
    assert r.status_code == 201, r.text
    cid = int(r.json()["consultation"]["id"])
    if invited:
        r = await app.http.post(f"/api/v1/consultations/{cid}/invitations",
                                headers=host.headers, json={"users": list(invited)})
        assert r.status_code == 200, r.text
    return cid


async def _seats(app: LiveApp, engine: AsyncEngine, count: int) -> list[Seat]:
    host = Seat("lead1", await builders.signed_in(app.http, engine, "lead1", "leader"))
    others = [
        Seat(name, await builders.signed_in(app.http, engine, name, "dispatcher"))
        for name in (f"disp{i}" for i in range(1, count))
    ]
    return [host, *others]


async def _join_and_send(app: LiveApp, cid: int, seat: Seat, index: int) -> Peer:
    peer = await Peer.join(app.ws_url, seat.token, cid)
    await peer.publish([PatternTrack(index), ToneTrack(index)])
    return peer


async def _sees(peer: Peer, senders: dict[str, int], *, within: float = 30.0) -> dict[str, Any]:
    """Wait until ``peer`` has decoded frames of every sender's pattern (member -> index),
    with counters that move on; what it saw, by member."""
    videos: dict[str, Received] = {}
    seen: dict[str, list[int]] = {}
    deadline = time.monotonic() + within

    async def read(got: Received) -> None:
        while True:
            frame = await got.track.recv()
            assert isinstance(frame, VideoFrame)
            found = identify(frame)
            assert got.member is not None
            # The pattern decoded is the one its member sends (index and colour agree).
            if found.index == senders.get(got.member) and found.colour_index == found.index % 8:
                seen.setdefault(got.member, []).append(found.counter)

    readers: list[asyncio.Task[None]] = []
    try:
        while not all(len(set(seen.get(m, []))) >= 5 for m in senders):
            left = deadline - time.monotonic()
            assert left > 0, f"{peer.member} saw {sorted(seen)} of {sorted(senders)}"
            try:
                got = await asyncio.wait_for(peer.received.get(), min(left, 0.5))
            except TimeoutError:
                continue
            if got.kind == "video" and got.member in senders and got.member not in videos:
                videos[got.member] = got
                readers.append(asyncio.create_task(read(got)))
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    for member, counters in seen.items():
        assert counters == sorted(counters), f"{member}'s frames out of order: {counters}"
    return seen


async def test_two_participants_each_receive_the_others_video(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    lead, disp = await _seats(app, map_engine, 2)
    cid = await _consultation(app, lead, [disp.name])
    peers = [await _join_and_send(app, cid, s, i) for i, s in enumerate((lead, disp))]
    try:
        for peer in peers:
            await peer.subscribe("all")
        await _sees(peers[0], {"user:disp1": 1})
        await _sees(peers[1], {"user:lead1": 0})
        r = await app.http.get(f"/api/v1/consultations/{cid}", headers=lead.headers)
        states = {p["member"]: p["state"] for p in r.json()["participants"]}
        assert states == {"user:lead1": "joined", "user:disp1": "joined"}
    finally:
        for peer in peers:
            await peer.leave()


async def test_four_participants_a_late_leader_and_one_who_vanishes(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    seats = await _seats(app, map_engine, 5)
    lead, early = seats[0], seats[1:4]
    late = seats[4]
    cid = await _consultation(app, lead, [s.name for s in seats[1:]])
    peers = [await _join_and_send(app, cid, s, i) for i, s in enumerate([lead, *early])]
    members = {p.member: i for i, p in enumerate(peers)}
    try:
        for peer in peers:
            await peer.subscribe("all")
        for peer in peers:
            await _sees(peer, {m: i for m, i in members.items() if m != peer.member})

        # A participant who joins late receives everyone, and everyone receives it.
        newcomer = await _join_and_send(app, cid, late, 4)
        await newcomer.subscribe("all")
        members[newcomer.member] = 4
        peers.append(newcomer)
        await _sees(newcomer, {m: i for m, i in members.items() if m != newcomer.member})
        await _sees(peers[0], {newcomer.member: 4})

        # One vanishes without a goodbye: the others are told within 10 s.
        gone = peers.pop(1)
        vanished = time.monotonic()
        await gone.close()
        told = await _told_left(peers[0], gone.member, within=10.0)
        print(f"\n{gone.member} vanished: the host was told after {told - vanished:.2f} s")
        r = await app.http.get(f"/api/v1/consultations/{cid}", headers=lead.headers)
        states = {p["member"]: p["state"] for p in r.json()["participants"]}
        assert states[gone.member] == "left"
        assert [states[p.member] for p in peers] == ["joined"] * 4
    finally:
        for peer in peers:
            await peer.leave()


async def _told_left(peer: Peer, member: str, *, within: float) -> float:
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"{peer.member} was not told that {member} left"
        frame = await asyncio.wait_for(peer.events.get(), left)
        if frame.get("type") == "participant" and frame.get("member") == member and (
            frame.get("state") == "left"
        ):
            return time.monotonic()


async def test_the_uninvited_are_refused_and_bad_sdp_gets_an_error(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    lead, disp, stranger = await _seats(app, map_engine, 3)
    cid = await _consultation(app, lead, [disp.name])
    with pytest.raises(PeerClosed) as refused:
        await Peer.join(app.ws_url, stranger.token, cid)
    assert (refused.value.code, refused.value.reason) == (4403, "consultation.not_invited")
    with pytest.raises(PeerClosed) as missing:
        await Peer.join(app.ws_url, lead.token, 999_999)
    assert (missing.value.code, missing.value.reason) == (4404, "consultation.not_found")

    peer = await Peer.join(app.ws_url, disp.token, cid)
    try:
        # An offer without ICE credentials.
        broken = "\r\n".join(
            ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0", "m=video 9 UDP/TLS/RTP/SAVPF 96", ""]
        )
        with pytest.raises(PeerError) as bad:
            await peer.request("publish", sdp=broken)
        assert (bad.value.code, bad.value.field) == ("video.sdp_invalid", "sdp")
        assert bad.value.params["reason"] == "sdp.no_ice_credentials"
        with pytest.raises(PeerError) as garbage:
            await peer.request("publish", sdp="hello")
        assert (garbage.value.code, garbage.value.params["reason"]) == (
            "video.sdp_invalid", "sdp.no_version"
        )
        with pytest.raises(PeerError) as unknown:
            await peer.request("dance")
        assert unknown.value.code == "video.type_unknown"
        with pytest.raises(PeerError) as early:
            await peer.request("answer", sdp="v=0\r\n")
        assert early.value.code == "video.no_offer"
        # The socket is still good: a real offer is answered.
        feed = await peer.publish([PatternTrack(3)])
        assert feed > 0
    finally:
        await peer.leave()
