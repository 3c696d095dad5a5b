"""Consultations on a running app over real HTTP and the real database: a leader opens one on an
incident and invites a dispatcher by name, the supervisors by role and a command vehicle; the
uninvited are refused and a removed member stays out; the vehicle gets back in after a network
change; members cannot do the host's work; every step is on the incident's timeline and in the
audit log; a recording is stored, listed and downloaded byte for byte; bad input changes
nothing."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.auth.service import Principal
from command.consulting.views import AttachmentMeta
from command.errors import InvalidInput, NotFound
from tests.support import builders
from tests.support import dispatch_builders as b
from tests.support.live import LiveApp, serve
from video.errors import Conflict, Forbidden
from video.live import MediaReport, Quality
from video.sessions import Member, MemberKind

INCIDENT = {"type": "medical", "lon": 9.52, "lat": 47.14, "summary": "dam overflowing"}
# The first bytes of a WebM file (its EBML header), then some payload.
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01" + bytes(range(256)) * 64


@pytest.fixture
async def app(map_url: str, tmp_path: Path) -> AsyncIterator[LiveApp]:
    async with serve(map_url, attachment_dir=tmp_path / "attachments") as live:
        yield live


async def _principal(app: LiveApp, headers: dict[str, str]) -> Principal:
    return await app.container.accounts.authenticate(headers["Authorization"][7:])


async def _incident(app: LiveApp, headers: dict[str, str]) -> dict[str, Any]:
    r = await app.http.post("/api/v1/incidents", headers=headers, json=INCIDENT)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()["incident"]
    return body


async def _timeline(engine: AsyncEngine, incident_id: int) -> list[tuple[str, dict[str, Any]]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT type, data FROM events WHERE subject_type = 'incident' "
                "AND subject_id = :i AND type LIKE 'consultation.%' ORDER BY id"
            ),
            {"i": str(incident_id)},
        )
        return [(r.type, r.data) for r in rows]


async def _audit(engine: AsyncEngine, actor: str) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT action, result FROM audit_log WHERE actor = :a AND action <> 'login'"
                " ORDER BY id"
            ),
            {"a": actor},
        )
        return [(r.action, r.result) for r in rows]


async def _counts(engine: AsyncEngine) -> tuple[int, ...]:
    return tuple(
        [
            await b.count(engine, t)
            for t in (
                "consultations",
                "consultation_participants",
                "consultation_invitations",
                "events",
            )
        ]
    )


async def test_a_consultation_from_invitation_to_end(app: LiveApp, map_engine: AsyncEngine) -> None:
    crew = await b.crew(app.http, map_engine)
    expert = await builders.signed_in(app.http, map_engine, "exp1", "dispatcher")
    await b.add_unit(map_engine, "CMD1", "command_vehicle")
    vehicle = await b.terminal(map_engine, "CMD1")
    inc = await _incident(app, crew.call_taker)
    consulting = app.container.consultations

    r = await app.http.post(
        "/api/v1/consultations",
        headers=crew.leader,
        json={"title": "Dam overflow", "incident_id": inc["id"]},
    )
    assert r.status_code == 201, r.text
    created = r.json()["consultation"]
    cid = created["id"]
    assert (created["host"], created["state"], created["incident_id"]) == (
        "user:lead1",
        "open",
        inc["id"],
    )
    assert created["bitrate_kbps"] == app.container.settings.consultation_bitrate_kbps

    r = await app.http.post(
        f"/api/v1/consultations/{cid}/invitations",
        headers=crew.leader,
        json={"users": ["exp1"], "roles": ["supervisor"], "units": ["CMD1"]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["roles"] == ["supervisor"]
    assert {p["member"]: p["state"] for p in body["participants"]} == {
        "user:lead1": "invited",
        "user:exp1": "invited",
        "unit:CMD1": "invited",
    }

    # The uninvited call-taker is refused, and the refusal is audited; nor may it read it.
    ct = await _principal(app, crew.call_taker)
    with pytest.raises(Forbidden) as refused:
        await consulting.admit(cid, ct, "127.0.0.1")
    assert refused.value.code == "consultation.not_invited"
    assert ("consultation.admit", "refused") in await _audit(map_engine, "user:ct1")
    r = await app.http.get(f"/api/v1/consultations/{cid}", headers=crew.call_taker)
    assert (r.status_code, r.json()["code"]) == (403, "consultation.not_participant")
    with pytest.raises(NotFound) as missing:
        await consulting.admit(cid + 1000, ct, "127.0.0.1")
    assert missing.value.code == "consultation.not_found"

    # The supervisor, invited by role, may read it and join.
    sup = await _principal(app, crew.supervisor)
    assert (await consulting.admit(cid, sup, "127.0.0.1")).via_role == "supervisor"

    # The vehicle is admitted by its invitation, joins, loses its network and comes back.
    unit = await _principal(app, vehicle)
    admitted = await consulting.admit(cid, unit, "10.0.0.5")
    assert (admitted.member, admitted.room, admitted.rejoin) == (
        Member(MemberKind.UNIT, "CMD1"),
        created["room"],
        False,
    )
    first = await consulting.joined(cid, unit, "10.0.0.5")
    again = await consulting.joined(cid, unit, "10.0.0.9")  # its old connection not gone yet
    assert (again.rejoin, first.join, again.join) == (True, 1, 2)
    # The old connection's end, noticed late (here or in another process), changes nothing.
    with pytest.raises(Conflict) as replaced:
        await consulting.left(cid, unit, "lost", "10.0.0.5", join=first.join)
    assert replaced.value.code == "consultation.connected_elsewhere"
    await consulting.left(cid, unit, "network change", "10.0.0.9")
    await consulting.joined(cid, unit, "10.0.0.7")

    # The expert joins; the media plane reports; the host's console sees it live.
    exp = await _principal(app, expert)
    await consulting.joined(cid, exp, "127.0.0.1")
    consulting.media(
        cid,
        Member(MemberKind.USER, "exp1"),
        MediaReport(sending_audio=True, speaking=True, quality=Quality(0.12, 80, 600)),
    )
    r = await app.http.get(f"/api/v1/consultations/{cid}", headers=crew.leader)
    assert r.status_code == 200, r.text
    live = {p["member"]: p["live"] for p in r.json()["participants"]}
    assert (live["user:exp1"]["speaking"], live["user:exp1"]["quality"]["grade"]) == (True, "poor")
    assert live["unit:CMD1"] is None

    # A member cannot do the host's work.
    base = f"/api/v1/consultations/{cid}"
    for path, payload in (
        (f"{base}/participants/unit/CMD1/mute", {"media": "audio"}),
        (f"{base}/participants/unit/CMD1/remove", None),
        (f"{base}/end", None),
    ):
        r = await app.http.post(path, headers=expert, json=payload)
        assert (r.status_code, r.json()["code"]) == (403, "consultation.host_only"), r.text

    # The host mutes the vehicle's audio and removes the expert, who then stays out.
    r = await app.http.post(
        f"{base}/participants/unit/CMD1/mute", headers=crew.leader, json={"media": "audio"}
    )
    assert r.status_code == 200, r.text
    muted = {p["member"]: p["audio_muted"] for p in r.json()["participants"]}
    assert (muted["unit:CMD1"], muted["user:exp1"]) == (True, False)
    r = await app.http.post(f"{base}/participants/user/exp1/remove", headers=crew.leader)
    assert r.status_code == 200, r.text
    with pytest.raises(Forbidden) as removed:
        await consulting.admit(cid, exp, "127.0.0.1")
    assert removed.value.code == "consultation.removed"
    assert (await consulting.admit(cid, unit, "10.0.0.7")).audio_muted

    # Mine: the expert still sees it (a participant, removed), the call-taker does not.
    r = await app.http.get("/api/v1/consultations", headers=expert)
    assert [x["id"] for x in r.json()["consultations"]] == [cid]
    r = await app.http.get("/api/v1/consultations", headers=crew.call_taker)
    assert r.json()["consultations"] == []
    r = await app.http.get(
        "/api/v1/consultations", headers=crew.supervisor, params={"incident_id": inc["id"]}
    )
    assert [x["id"] for x in r.json()["consultations"]] == [cid]

    r = await app.http.post(f"{base}/end", headers=crew.leader)
    assert r.status_code == 200, r.text
    assert r.json()["consultation"]["state"] == "ended"
    assert {p["member"]: p["state"] for p in r.json()["participants"]}["unit:CMD1"] == "left"
    with pytest.raises(Conflict) as ended:
        await consulting.admit(cid, unit, "10.0.0.7")
    assert ended.value.code == "consultation.ended"

    timeline = await _timeline(map_engine, inc["id"])
    assert [t for t, _ in timeline] == [
        "consultation.created",
        "consultation.invited",
        "consultation.invited",
        "consultation.roles_invited",
        "consultation.participant_joined",
        "consultation.participant_joined",
        "consultation.participant_left",
        "consultation.participant_joined",
        "consultation.participant_joined",
        "consultation.participant_muted",
        "consultation.participant_removed",
        "consultation.ended",
    ]
    assert all(d["consultation_id"] == cid and d["number"] == inc["number"] for _, d in timeline)
    assert [d["member"] for t, d in timeline if t.endswith("_left")] == ["unit:CMD1"]
    assert await _audit(map_engine, "user:lead1") == [
        ("POST /api/v1/consultations", "ok"),
        ("POST /api/v1/consultations/{consultation_id}/invitations", "ok"),
        ("POST /api/v1/consultations/{consultation_id}/participants/{kind}/{name}/mute", "ok"),
        ("POST /api/v1/consultations/{consultation_id}/participants/{kind}/{name}/remove", "ok"),
        ("POST /api/v1/consultations/{consultation_id}/end", "ok"),
    ]
    assert [a for a in await _audit(map_engine, "device:CMD1") if a[0].startswith("consult")] == [
        ("consultation.participant_joined", "ok"),
        ("consultation.participant_joined", "ok"),
        ("consultation.participant_left", "ok"),
        ("consultation.participant_joined", "ok"),
        # its try after the end
        ("consultation.admit", "refused"),
    ]
    refusals = [a for a in await _audit(map_engine, "user:exp1") if a[1] != "ok"]
    assert ("consultation.admit", "refused") in refusals


async def test_who_may_create_and_bad_input_changes_nothing(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    crew = await b.crew(app.http, map_engine)
    r = await app.http.post("/api/v1/consultations", headers=crew.call_taker, json={"title": "x"})
    assert (r.status_code, r.json()["code"]) == (403, "auth.role_required")
    r = await app.http.post("/api/v1/consultations", headers=crew.dispatcher, json={"title": "x"})
    assert r.status_code == 201, r.text
    cid = r.json()["consultation"]["id"]
    assert r.json()["consultation"]["incident_id"] is None
    before = await _counts(map_engine)
    bad: list[dict[str, object]] = [
        {"title": ""},
        {"title": "ok", "bitrate_kbps": 5},
        {"title": "ok", "unknown": 1},
        {"title": "ok", "incident_id": 0},
    ]
    for payload in bad:
        r = await app.http.post("/api/v1/consultations", headers=crew.dispatcher, json=payload)
        assert r.status_code == 422, (payload, r.text)
    r = await app.http.post(
        "/api/v1/consultations", headers=crew.dispatcher, json={"title": "ok", "incident_id": 99999}
    )
    assert (r.status_code, r.json()["code"]) == (404, "incident.not_found")
    invite = f"/api/v1/consultations/{cid}/invitations"
    refused: list[tuple[dict[str, list[str]], str]] = [
        ({}, "consultation.invite_empty"),
        ({"roles": ["pilot"]}, "consultation.role_unknown"),
        ({"users": ["nobody"]}, "consultation.user_unknown"),
        ({"units": ["NOPE"]}, "consultation.unit_unknown"),
        # One good name beside a bad one: all refused, nothing invited.
        ({"users": ["lead1", "nobody"]}, "consultation.user_unknown"),
    ]
    for invited, code in refused:
        r = await app.http.post(invite, headers=crew.dispatcher, json=invited)
        assert (r.status_code, r.json()["code"]) == (422, code), r.text
    r = await app.http.post(
        f"/api/v1/consultations/{cid}/participants/user/lead1/mute",
        headers=crew.dispatcher,
        json={"media": "screen"},
    )
    assert r.status_code == 422, r.text
    r = await app.http.post(
        f"/api/v1/consultations/{cid}/participants/user/lead1/remove", headers=crew.dispatcher
    )
    assert (r.status_code, r.json()["code"]) == (404, "consultation.participant_unknown")
    r = await app.http.post("/api/v1/consultations/4242/end", headers=crew.dispatcher)
    assert (r.status_code, r.json()["code"]) == (404, "consultation.not_found")
    assert await _counts(map_engine) == before
    # Standing alone, its events are about the consultation itself.
    assert await b.event_types(map_engine, "consultation", str(cid)) == ["consultation.created"]


async def test_an_attachment_is_stored_listed_and_downloaded_byte_for_byte(
    app: LiveApp, map_engine: AsyncEngine, tmp_path: Path
) -> None:
    crew = await b.crew(app.http, map_engine)
    inc = await _incident(app, crew.call_taker)
    r = await app.http.post(
        "/api/v1/consultations", headers=crew.leader, json={"title": "t", "incident_id": inc["id"]}
    )
    cid = r.json()["consultation"]["id"]
    recording = tmp_path / "room.webm"
    recording.write_bytes(WEBM)
    consulting = app.container.consultations
    stored = await consulting.attach(
        inc["id"],
        recording,
        AttachmentMeta("recording", "video/webm", cid, 1280, 720, 12.5),
        "system:recorder",
    )
    digest = hashlib.sha256(WEBM).hexdigest()
    assert (stored.sha256, stored.size) == (digest, len(WEBM))
    # Named by its checksum under the setting's directory; no temporary file is left.
    files = sorted(p.name for p in (tmp_path / "attachments").rglob("*") if p.is_file())
    assert files == [f"{digest}.webm"]

    r = await app.http.get(f"/api/v1/incidents/{inc['id']}/attachments", headers=crew.dispatcher)
    assert r.status_code == 200, r.text
    [listed] = r.json()["attachments"]
    assert (listed["kind"], listed["sha256"], listed["width"], listed["consultation_id"]) == (
        "recording",
        digest,
        1280,
        cid,
    )
    r = await app.http.get(
        f"/api/v1/incidents/{inc['id']}/attachments/{listed['id']}", headers=crew.dispatcher
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "video/webm"
    assert r.headers["x-content-sha256"] == digest
    assert r.content == WEBM
    assert hashlib.sha256(r.content).hexdigest() == digest
    types = await b.event_types(map_engine, "incident", str(inc["id"]))
    assert "incident.attachment_added" in types
    assert ("incident.attach", "ok") in await _audit(map_engine, "system:recorder")

    # A still that is no image, and a kind that is no kind, are refused and store nothing.
    before = await b.count(map_engine, "incident_attachments")
    for source, meta, code in (
        (WEBM, AttachmentMeta("still", "image/png"), "attachment.content_mismatch"),
        (WEBM, AttachmentMeta("still", "video/webm"), "attachment.media_type_mismatch"),
        (WEBM, AttachmentMeta("poster", "video/webm"), "attachment.kind_unknown"),
    ):
        with pytest.raises(InvalidInput) as bad:
            await consulting.attach(inc["id"], source, meta, "system:recorder")
        assert bad.value.code == code
    assert await b.count(map_engine, "incident_attachments") == before
    r = await app.http.get(
        f"/api/v1/incidents/{inc['id']}/attachments/{listed['id'] + 50}", headers=crew.dispatcher
    )
    assert (r.status_code, r.json()["code"]) == (404, "attachment.not_found")
