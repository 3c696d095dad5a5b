"""Recording a consultation and taking stills, through a real Janus: the host records while a
command vehicle sends its test pattern and tone; after the stop the vehicle's recording is
attached to the incident as a WebM that plays back for as long as it was recorded, in the
vehicle's colour, with its sound. A still of the vehicle is a JPEG of its picture. Who may
not record or take a still, and what cannot be recorded, is refused with a code; a recording
a process stopped and did not attach before it died is attached at the next start."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest
from av import VideoFrame
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.consultations import Seat, consultation, sees
from tests.support.live import LiveApp
from video.media.pattern import PatternTrack, nearest_colour
from video.media.tone import ToneTrack
from video.peer import Peer

pytestmark = pytest.mark.timeout(240)
INDEX = 6
INCIDENT = {"type": "fire", "lon": 9.52, "lat": 47.14, "summary": "warehouse fire"}


async def _incident(app: LiveApp, headers: dict[str, str]) -> int:
    r = await app.http.post("/api/v1/incidents", headers=headers, json=INCIDENT)
    assert r.status_code == 201, r.text
    return int(r.json()["incident"]["id"])


async def _scene(app: LiveApp, engine: AsyncEngine) -> tuple[Seat, Seat, str, int, int]:
    """A dispatcher hosting a consultation on an incident, a leader invited, and CMD1's
    device token: (host, leader, unit token, consultation, incident)."""
    host = Seat("disp1", await builders.signed_in(app.http, engine, "disp1", "dispatcher"))
    lead = Seat("lead1", await builders.signed_in(app.http, engine, "lead1", "leader"))
    await b.add_unit(engine, "CMD1", "command_vehicle")
    unit = (await b.terminal(engine, "CMD1"))["Authorization"].removeprefix("Bearer ")
    incident_id = await _incident(app, host.headers)
    cid = await consultation(app, host, ["lead1"], units=["CMD1"], incident_id=incident_id)
    return host, lead, unit, cid, incident_id


async def _vehicle(app: LiveApp, token: str, cid: int) -> Peer:
    peer = await Peer.join(app.ws_url, token, cid)
    await peer.publish([PatternTrack(INDEX, fps=10), ToneTrack(INDEX)])
    return peer


@dataclass(frozen=True)
class _OnAir:
    host: Seat
    lead: Seat
    cid: int
    incident_id: int
    present: Peer  # the host, in the consultation


@asynccontextmanager
async def _vehicle_on_air(app: LiveApp, engine: AsyncEngine, *,
                          watching: bool) -> AsyncIterator[_OnAir]:
    """The scene with CMD1 sending and the host in (``watching``: seeing CMD1's picture);
    both leave at the end."""
    host, lead, unit, cid, incident_id = await _scene(app, engine)
    vehicle = await _vehicle(app, unit, cid)
    present = await Peer.join(app.ws_url, host.token, cid)
    try:
        if watching:
            await present.subscribe("all")
            await sees(present, {"unit:CMD1": INDEX})
        yield _OnAir(host, lead, cid, incident_id, present)
    finally:
        await present.leave()
        await vehicle.leave()


async def _attachments(app: LiveApp, seat: Seat, incident_id: int, count: int,
                       within: float = 60.0) -> list[dict[str, Any]]:
    """The incident's attachments once there are ``count`` of them."""
    deadline = time.monotonic() + within
    while True:
        r = await app.http.get(f"/api/v1/incidents/{incident_id}/attachments",
                               headers=seat.headers)
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()["attachments"]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"attachments: {found}"
        await asyncio.sleep(0.2)  # the condition above, polled


async def _record(app: LiveApp, seat: Seat, cid: int, on: bool) -> Any:
    return await app.http.post(f"/api/v1/consultations/{cid}/recording",
                               headers=seat.headers, json={"on": on})


def _played(played: av.container.InputContainer) -> tuple[list[VideoFrame], int]:
    """The video's frames as a player decodes them, and how many packets it could not."""
    frames: list[VideoFrame] = []
    damaged = 0
    for packet in played.demux(video=0):
        try:
            frames.extend(f for f in packet.decode() if isinstance(f, VideoFrame))
        except av.error.InvalidDataError:
            damaged += 1
    return frames, damaged


def _colour_of(frame: VideoFrame) -> int:
    rgb = frame.to_ndarray(format="rgb24")
    r, g, bl = rgb[frame.height // 2, 8]
    return nearest_colour((float(r), float(g), float(bl)))


async def test_a_recording_plays_back_for_as_long_as_it_ran_and_is_attached(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    async with _vehicle_on_air(app, map_engine, watching=True) as on:
        host, cid, incident_id = on.host, on.cid, on.incident_id
        r = await _record(app, host, cid, True)
        assert r.status_code == 200, r.text
        started = time.monotonic()
        assert r.json()["consultation"]["recording_since"] is not None
        # About four seconds of the vehicle's video reach the host while it records.
        await sees(on.present, {"unit:CMD1": INDEX}, frames=40)
        r = await _record(app, host, cid, False)
        ran = time.monotonic() - started
        assert r.status_code == 200, r.text
        assert r.json()["consultation"]["recording_since"] is None

    [found] = await _attachments(app, host, incident_id, 1)
    assert (found["kind"], found["media_type"], found["member"], found["consultation_id"]) == (
        "recording", "video/webm", "unit:CMD1", cid
    )
    print(f"\nrecorded {ran:.2f} s; the attachment says {found['duration_s']} s")
    assert abs(found["duration_s"] - ran) < 1.0
    r = await app.http.get(f"/api/v1/incidents/{incident_id}/attachments/{found['id']}",
                           headers=host.headers)
    assert r.status_code == 200
    with av.open(io.BytesIO(r.content), "r") as played:
        kinds = sorted(s.type for s in played.streams)
        assert kinds == ["audio", "video"]
        frames, damaged = _played(played)
    # It plays: as many seconds of frames as were recorded (10 a second), in the vehicle's
    # colour. A packet lost on its way to the media server (a busy machine) damages a frame
    # or two until the next key frame, as a player would show it.
    print(f"{len(frames)} frames decoded, {damaged} damaged")
    assert len(frames) >= 0.6 * ran * 10
    assert abs(float(frames[-1].time or 0) - ran) < 1.0
    assert _colour_of(frames[len(frames) // 2]) == INDEX
    types = await b.event_types(map_engine, "incident", str(incident_id))
    assert {"consultation.recording_started", "consultation.recording_stopped",
            "incident.attachment_added"} <= set(types)


async def test_a_still_of_the_vehicle_is_attached_as_a_jpeg_of_its_picture(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    async with _vehicle_on_air(app, map_engine, watching=False) as on:
        host, lead, cid, incident_id = on.host, on.lead, on.cid, on.incident_id
        url = f"/api/v1/consultations/{cid}/participants/unit/CMD1/still"
        # The leader is invited but not in: no stills for them.
        r = await app.http.post(url, headers=lead.headers)
        assert (r.status_code, r.json()["code"]) == (403, "consultation.not_in")
        r = await app.http.post(url, headers=host.headers)
        assert r.status_code == 201, r.text
        still = r.json()
        assert (still["kind"], still["media_type"], still["member"]) == (
            "still", "image/jpeg", "unit:CMD1"
        )
        assert (still["width"], still["height"]) == (320, 240)
        r = await app.http.get(f"/api/v1/incidents/{incident_id}/attachments/{still['id']}",
                               headers=host.headers)
        with av.open(io.BytesIO(r.content), "r", format="image2pipe") as picture:
            frame = next(picture.decode(video=0))
        assert _colour_of(frame) == INDEX
        # The host is in but sends nothing: there is no picture of them.
        r = await app.http.post(f"/api/v1/consultations/{cid}/participants/user/disp1/still",
                                headers=host.headers)
        assert (r.status_code, r.json()["code"]) == (409, "video.not_sending")
        # The leader has not joined.
        r = await app.http.post(f"/api/v1/consultations/{cid}/participants/user/lead1/still",
                                headers=host.headers)
        assert (r.status_code, r.json()["code"]) == (409, "consultation.participant_not_in")
    assert [a["kind"] for a in await _attachments(app, host, incident_id, 1)] == ["still"]


async def test_who_may_not_record_and_what_cannot_be_recorded_change_nothing(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    host, lead, _, cid, incident_id = await _scene(app, map_engine)
    r = await _record(app, lead, cid, True)
    assert (r.status_code, r.json()["code"]) == (403, "consultation.host_only")
    r = await _record(app, host, cid, False)
    assert (r.status_code, r.json()["code"]) == (409, "consultation.recording_off")
    r = await app.http.post(f"/api/v1/consultations/{cid}/recording", headers=host.headers,
                            json={"on": "maybe"})
    assert r.status_code == 422
    assert (await _record(app, host, cid, True)).status_code == 200
    r = await _record(app, host, cid, True)
    assert (r.status_code, r.json()["code"]) == (409, "consultation.recording_on")
    # Ending the consultation stops its recording (nobody sent: nothing is attached).
    r = await app.http.post(f"/api/v1/consultations/{cid}/end", headers=host.headers)
    assert r.status_code == 200, r.text
    assert r.json()["consultation"]["recording_since"] is None
    types = await b.event_types(map_engine, "incident", str(incident_id))
    assert types.count("consultation.recording_started") == 1
    assert types.count("consultation.recording_stopped") == 1
    alone = await consultation(app, host, [])
    r = await _record(app, host, alone, True)
    assert (r.status_code, r.json()["code"]) == (409, "consultation.no_incident")
    await app.container.recordings.wait_converted()
    r = await app.http.get(f"/api/v1/incidents/{incident_id}/attachments", headers=host.headers)
    assert r.json()["attachments"] == []


async def test_a_recording_left_by_a_process_that_died_is_attached_at_the_next_start(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    recordings = app.container.recordings
    async with _vehicle_on_air(app, map_engine, watching=True) as on:
        host, cid, incident_id = on.host, on.cid, on.incident_id
        assert (await _record(app, host, cid, True)).status_code == 200
        await sees(on.present, {"unit:CMD1": INDEX}, frames=20)
        # The process dies as it stops: its conversion never runs (here: held back).
        recordings.convert_finished = lambda: None  # type: ignore[method-assign]
        assert (await _record(app, host, cid, False)).status_code == 200
    finished = Path(app.container.settings.janus_recordings_dir or "") / "finished"
    [left] = list(finished.iterdir())
    assert json.loads((left / "recording.json").read_text())["consultation_id"] == cid
    # Claimed by a process that is gone (no process has pid 2**22 + 1 here).
    dead = left.with_name(f"{left.name}@{2**22 + 1}")
    os.replace(left, dead)
    del recordings.convert_finished  # the next start's
    recordings.convert_finished()
    await recordings.wait_converted()
    [found] = await _attachments(app, host, incident_id, 1, within=1)
    assert (found["kind"], found["member"]) == ("recording", "unit:CMD1")
    assert found["duration_s"] > 1.0
    assert list(finished.iterdir()) == []
