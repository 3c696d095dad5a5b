"""Idempotency keys over real HTTP: a retried change answers as the first did, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from command.auth.service import Principal
from command.tables import idempotency_keys
from tests.support import builders, dispatch_builders
from tests.support.live import LiveApp

INCIDENT = {"type": "medical", "lon": 9.52, "lat": 47.14, "summary": "collapsed in the street"}


async def test_a_retried_creation_answers_the_same_and_creates_once(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    headers = await builders.signed_in(app.http, map_engine, "ct1", "call_taker")
    keyed = {**headers, "Idempotency-Key": "ct1-7f3a"}
    first = await app.http.post("/api/v1/incidents", headers=keyed, json=INCIDENT)
    assert first.status_code == 201, first.text
    again = await app.http.post("/api/v1/incidents", headers=keyed, json=INCIDENT)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await dispatch_builders.count(map_engine, "incidents") == 1
    # without a key, a second request is a second incident
    other = await app.http.post("/api/v1/incidents", headers=headers, json=INCIDENT)
    assert other.status_code == 201
    assert await dispatch_builders.count(map_engine, "incidents") == 2


async def test_a_keyed_request_looks_its_token_up_once(
    app: LiveApp, map_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await builders.signed_in(app.http, map_engine, "ct1", "call_taker")
    accounts = app.container.accounts
    looked_up: list[str] = []
    real = accounts.authenticate

    async def counted(token: str) -> Principal:
        looked_up.append(token)
        return await real(token)

    monkeypatch.setattr(accounts, "authenticate", counted)
    first = await app.http.post(
        "/api/v1/incidents", headers={**headers, "Idempotency-Key": "once-1"}, json=INCIDENT
    )
    assert first.status_code == 201, first.text
    assert len(looked_up) == 1


async def test_a_refusal_is_kept_too_and_a_reused_key_is_refused(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    headers = await builders.signed_in(app.http, map_engine, "ct1", "call_taker")
    keyed = {**headers, "Idempotency-Key": "k-1"}
    bad = {**INCIDENT, "priority": 9}
    first = await app.http.post("/api/v1/incidents", headers=keyed, json=bad)
    assert first.status_code == 422
    again = await app.http.post("/api/v1/incidents", headers=keyed, json=bad)
    assert (again.status_code, again.json()) == (422, first.json())
    reused = await app.http.post("/api/v1/incidents", headers=keyed, json=INCIDENT)
    assert reused.status_code == 422
    assert reused.json()["code"] == "request.idempotency_key_reused"
    assert await dispatch_builders.count(map_engine, "incidents") == 0
    invalid = await app.http.post(
        "/api/v1/incidents", headers={**headers, "Idempotency-Key": "a b"}, json=INCIDENT
    )
    assert invalid.json()["code"] == "request.idempotency_key_invalid"


async def test_keys_belong_to_their_actor(app: LiveApp, map_engine: AsyncEngine) -> None:
    one = await builders.signed_in(app.http, map_engine, "ct1", "call_taker")
    two = await builders.signed_in(app.http, map_engine, "ct2", "call_taker")
    for headers in (one, two):
        r = await app.http.post(
            "/api/v1/incidents", headers={**headers, "Idempotency-Key": "same"}, json=INCIDENT
        )
        assert r.status_code == 201
        assert "Idempotent-Replayed" not in r.headers
    assert await dispatch_builders.count(map_engine, "incidents") == 2


async def test_an_attempt_that_never_reported_back_is_not_run_again(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    headers = await builders.signed_in(app.http, map_engine, "ct1", "call_taker")
    keyed = {**headers, "Idempotency-Key": "lost-1"}
    first = await app.http.post("/api/v1/incidents", headers=keyed, json=INCIDENT)
    assert first.status_code == 201
    # As a process that died after claiming the key would leave it: no answer kept.
    async with map_engine.begin() as conn:
        await conn.execute(update(idempotency_keys).values(status=None, body=None))
    running = await app.http.post("/api/v1/incidents", headers=keyed, json=INCIDENT)
    assert (running.status_code, running.json()["code"]) == (409, "request.in_progress")
    app.advance(timedelta(minutes=2))
    unknown = await app.http.post("/api/v1/incidents", headers=keyed, json=INCIDENT)
    assert (unknown.status_code, unknown.json()["code"]) == (409, "request.outcome_unknown")
    assert await dispatch_builders.count(map_engine, "incidents") == 1


async def _as_claimed_on(engine: AsyncEngine, key: str, timeline_back: int, done: bool) -> None:
    """Make ``key``'s row a claim without an answer, taken ``timeline_back`` timelines ago
    (1: on a primary since replaced by a promoted standby), its change committed or not."""
    async with engine.begin() as conn:
        await conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.key == key)
            .values(
                status=None,
                body=None,
                timeline=idempotency_keys.c.timeline - timeline_back,
                done_at=func.now() if done else None,
            )
        )


async def test_a_change_marks_its_claim_done_in_its_own_transaction(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    headers = await builders.signed_in(app.http, map_engine, "ct1", "call_taker")
    created = await app.http.post(
        "/api/v1/incidents", headers={**headers, "Idempotency-Key": "done-1"}, json=INCIDENT
    )
    assert created.status_code == 201
    refused = await app.http.post(
        "/api/v1/incidents",
        headers={**headers, "Idempotency-Key": "refused-1"},
        json={**INCIDENT, "lon": 8.54, "lat": 47.38},  # outside every jurisdiction
    )
    assert refused.status_code == 422
    async with map_engine.connect() as conn:
        rows = dict(
            (await conn.execute(select(idempotency_keys.c.key, idempotency_keys.c.done_at))).all()
        )
    assert rows["done-1"] is not None
    assert rows["refused-1"] is None  # refused: nothing committed (its audit row is not its change)


async def test_after_a_failover_an_attempt_that_changed_nothing_runs_again_at_once(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    headers = await builders.signed_in(app.http, map_engine, "ct1", "call_taker")
    keyed = {**headers, "Idempotency-Key": "failover-1"}
    body = {**INCIDENT, "lon": 8.54, "lat": 47.38}  # refused, and so changing nothing
    assert (await app.http.post("/api/v1/incidents", headers=keyed, json=body)).status_code == 422
    # Still on the same primary: the attempt may be running.
    await _as_claimed_on(map_engine, "failover-1", timeline_back=0, done=False)
    running = await app.http.post("/api/v1/incidents", headers=keyed, json=body)
    assert (running.status_code, running.json()["code"]) == (409, "request.in_progress")
    # Claimed on a primary since replaced, unmarked: the retry runs (and is refused again).
    await _as_claimed_on(map_engine, "failover-1", timeline_back=1, done=False)
    again = await app.http.post("/api/v1/incidents", headers=keyed, json=body)
    assert again.status_code == 422, again.text
    assert "Idempotent-Replayed" not in again.headers


async def test_after_a_failover_an_attempt_that_was_done_is_not_run_again(
    app: LiveApp, map_engine: AsyncEngine
) -> None:
    headers = await builders.signed_in(app.http, map_engine, "ct1", "call_taker")
    keyed = {**headers, "Idempotency-Key": "failover-2"}
    first = await app.http.post("/api/v1/incidents", headers=keyed, json=INCIDENT)
    assert first.status_code == 201
    await _as_claimed_on(map_engine, "failover-2", timeline_back=1, done=True)
    again = await app.http.post("/api/v1/incidents", headers=keyed, json=INCIDENT)
    assert (again.status_code, again.json()["code"]) == (409, "request.outcome_unknown")
    assert await dispatch_builders.count(map_engine, "incidents") == 1
