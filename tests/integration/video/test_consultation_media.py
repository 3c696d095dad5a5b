"""Consultations with real peers: aiortc participants join over the signaling websocket of a
running app, their media goes through a real Janus, and each checks what it receives by
decoding the others' test patterns (who sent it, and that the frame counter moves on).

Two participants, then four; a leader who joins late; one who vanishes without a goodbye; one
who connects again through another `cad serve` process, its old connection closed (4409) and
not taken for a leaving; an uninvited user refused; malformed SDP answered with an error frame
and nothing broken."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ops.tcp_relay import LinkCut
from tests.support.consultations import Seat, consultation, seats, sees, told_left
from tests.support.janus import JanusServer
from tests.support.live import LiveApp, serve
from video.media.pattern import PatternTrack
from video.media.tone import ToneTrack
from video.peer import Peer, PeerClosed, PeerError

pytestmark = pytest.mark.timeout(240)


async def _join_and_send(
    app: LiveApp, cid: int, seat: Seat, index: int, *, via: int | None = None
) -> Peer:
    url = app.ws_url if via is None else f"ws://127.0.0.1:{via}"
    peer = await Peer.join(url, seat.token, cid)
    # 10 frames a second: the peers' encoders and decoders share the machine with the suite.
    await peer.publish([PatternTrack(index, fps=10), ToneTrack(index)])
    return peer


async def test_two_participants_each_receive_the_others_video(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    lead, disp = await seats(app, map_engine, 2)
    cid = await consultation(app, lead, [disp.name])
    peers = [await _join_and_send(app, cid, s, i) for i, s in enumerate((lead, disp))]
    try:
        for peer in peers:
            await peer.subscribe("all")
        await sees(peers[0], {"user:disp1": 1})
        await sees(peers[1], {"user:lead1": 0})
        r = await app.http.get(f"/api/v1/consultations/{cid}", headers=lead.headers)
        states = {p["member"]: p["state"] for p in r.json()["participants"]}
        assert states == {"user:lead1": "joined", "user:disp1": "joined"}
    finally:
        for peer in peers:
            await peer.leave()


async def test_one_who_connects_again_through_another_process_replaces_its_connection(
    app: LiveApp, map_engine: AsyncEngine, map_url: str, janus: JanusServer, tmp_path: Path
) -> None:
    lead, disp = await seats(app, map_engine, 2)
    cid = await consultation(app, lead, [disp.name])
    host = await _join_and_send(app, cid, lead, 0)
    old = await _join_and_send(app, cid, disp, 1)
    async with serve(map_url, attachment_dir=tmp_path / "b", janus_url=janus.url,
                     janus_api_secret=janus.api_secret()) as other:
        new: Peer | None = None
        try:
            await host.subscribe("all")
            await sees(host, {"user:disp1": 1})
            # The dispatcher's console moved to process B (a reload behind a balancer): the
            # connection on process A is closed with 4409 and is not a leaving.
            new = await Peer.join(other.ws_url, disp.token, cid)
            closed = await asyncio.wait_for(old.closed, 10.0)
            assert (closed.code, closed.reason) == (4409, "consultation.connected_elsewhere")
            await new.publish([PatternTrack(2, fps=10), ToneTrack(2)])
            await sees(host, {"user:disp1": 2})
            r = await app.http.get(f"/api/v1/consultations/{cid}", headers=lead.headers)
            [moved] = [p for p in r.json()["participants"] if p["member"] == "user:disp1"]
            assert moved["state"] == "joined"
        finally:
            if new is not None:
                await new.leave()
            await old.close()
            await host.leave()


async def test_four_participants_a_late_leader_and_one_who_vanishes(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    everyone = await seats(app, map_engine, 5)
    lead, early, late = everyone[0], everyone[1:4], everyone[4]
    cid = await consultation(app, lead, [s.name for s in everyone[1:]])
    # The second one reaches the server through a link that will go silent.
    link = LinkCut(int(app.base_url.rsplit(":", 1)[1]))
    await link.start()
    peers = [
        await _join_and_send(app, cid, s, i, via=link.port if i == 1 else None)
        for i, s in enumerate([lead, *early])
    ]
    members = {p.member: i for i, p in enumerate(peers)}
    gone = peers[1]
    try:
        for peer in peers:
            await peer.subscribe("all")
        for peer in peers:
            await sees(peer, {m: i for m, i in members.items() if m != peer.member})

        # A participant who joins late receives everyone, and everyone receives it.
        newcomer = await _join_and_send(app, cid, late, 4)
        await newcomer.subscribe("all")
        members[newcomer.member] = 4
        peers.append(newcomer)
        await sees(newcomer, {m: i for m, i in members.items() if m != newcomer.member})
        await sees(peers[0], {newcomer.member: 4})

        # One vanishes without a goodbye, its link gone silent (no close, no reset): the
        # others are told within 10 s.
        peers.remove(gone)
        vanished = time.monotonic()
        link.silence()
        told = await told_left(peers[0], gone.member, within=10.0)
        print(f"\n{gone.member} vanished: the host was told after {told - vanished:.2f} s")
        r = await app.http.get(f"/api/v1/consultations/{cid}", headers=lead.headers)
        states = {p["member"]: p["state"] for p in r.json()["participants"]}
        assert states[gone.member] == "left"
        assert [states[p.member] for p in peers] == ["joined"] * 4
    finally:
        for peer in peers:
            await peer.leave()
        await gone.close()
        await link.stop()


async def test_the_uninvited_are_refused_and_bad_sdp_gets_an_error(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    lead, disp, stranger = await seats(app, map_engine, 3)
    cid = await consultation(app, lead, [disp.name])
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
        feed = await peer.publish([PatternTrack(3, fps=10)])
        assert feed > 0
    finally:
        await peer.leave()
