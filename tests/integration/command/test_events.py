"""The event log under concurrent writers, streamed to consoles that disconnect and resume."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from command import events
from command.eventhub import EventHub
from command.events import NewEvent
from tests.support import builders
from tests.support.live import serve

WRITERS = 20
PER_WRITER = 100
TOTAL = WRITERS * PER_WRITER


async def _write(engine: AsyncEngine, writer: int) -> None:
    for i in range(PER_WRITER):
        async with engine.begin() as conn:
            await events.append(conn, [NewEvent("test.tick", "writer", str(writer), {"i": i})])
        if i % 10 == 0:
            await asyncio.sleep(0)


async def _read(ws: Any, into: list[dict[str, Any]], until: int) -> None:
    while len(into) < until:
        into.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))


async def test_2000_events_from_20_writers_reach_a_resuming_subscriber_once_in_order(
    database_url: str, engine: AsyncEngine
) -> None:
    # A small queue makes the hub's overflow path (re-read from the log) part of the test.
    async with serve(database_url, event_queue_size=25) as live:
        headers = await builders.signed_in(live.http, engine, "watcher", "dispatcher")
        token = headers["Authorization"].removeprefix("Bearer ")
        url = f"{live.ws_url}/api/v1/events/ws?token={token}"
        resumed: list[dict[str, Any]] = []
        slow: list[dict[str, Any]] = []

        async def resuming_subscriber() -> None:
            async with websockets.connect(url + "&after=0") as ws:
                await _read(ws, resumed, 700)
            await asyncio.sleep(0.3)  # writers go on while this console is away
            async with websockets.connect(url + f"&after={resumed[-1]['seq']}") as ws:
                await _read(ws, resumed, TOTAL)

        async def slow_subscriber() -> None:
            async with websockets.connect(url + "&after=0") as ws:
                while len(slow) < TOTAL:
                    slow.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
                    if len(slow) % 50 == 0:
                        await asyncio.sleep(0.05)

        await asyncio.gather(
            *(_write(engine, w) for w in range(WRITERS)), resuming_subscriber(), slow_subscriber()
        )

    for received in (resumed, slow):
        seqs = [e["seq"] for e in received]
        assert len(seqs) == TOTAL
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == TOTAL
        by_writer: dict[str, list[int]] = {}
        for e in received:
            by_writer.setdefault(e["subject_id"], []).append(e["data"]["i"])
        assert sorted(by_writer) == sorted(str(w) for w in range(WRITERS))
        # Each writer's own events arrive in the order it wrote them.
        assert all(v == list(range(PER_WRITER)) for v in by_writer.values())


async def test_a_rolled_back_event_is_never_published(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await events.append(conn, [NewEvent("test.ghost", "t", "1")])
            raise RuntimeError("the change failed after its event was written")
    async with engine.begin() as conn:
        await events.append(conn, [NewEvent("test.real", "t", "2")])
    async with engine.connect() as conn:
        logged = await events.read_after(conn, 0)
    assert [e.type for e in logged] == ["test.real"]


async def test_the_log_refuses_updates_and_deletes(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await events.append(conn, [NewEvent("test.kept", "t", "1")])
    for statement in ("UPDATE events SET type = 'x'", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))


async def test_bad_resume_position_is_refused(database_url: str, engine: AsyncEngine) -> None:
    async with serve(database_url) as live:
        headers = await builders.signed_in(live.http, engine, "w2", "leader")
        token = headers["Authorization"].removeprefix("Bearer ")
        async with websockets.connect(
            f"{live.ws_url}/api/v1/events/ws?token={token}&after=-3"
        ) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4400
        r = await live.http.get("/api/v1/events?after=-1", headers=headers)
        assert r.status_code == 422


async def _collect(hub: EventHub, after: int, n: int) -> list[int]:
    got: list[int] = []
    async for event in hub.stream(after):
        got.append(event.seq)
        if len(got) == n:
            return got
    return got


async def test_every_process_hub_sees_events_written_anywhere(database_url: str) -> None:
    engines = [create_async_engine(database_url) for _ in range(3)]
    hubs = [EventHub(e, poll_interval=30) for e in engines[1:]]
    try:
        for hub in hubs:
            await hub.start()
        readers = [asyncio.create_task(_collect(hub, 0, 10)) for hub in hubs]
        await asyncio.sleep(0.1)
        for i in range(10):
            async with engines[0].begin() as conn:
                await events.append(conn, [NewEvent("test.remote", "t", str(i))])
        # With a 30 s poll, only the notifications can deliver these within the timeout.
        results = await asyncio.wait_for(asyncio.gather(*readers), 10)
        assert results[0] == results[1]
        assert len(results[0]) == 10
    finally:
        for hub in hubs:
            await hub.stop()
        for e in engines:
            await e.dispose()


async def test_hub_recovers_when_its_listener_connection_is_killed(database_url: str) -> None:
    engine = create_async_engine(database_url)
    hub = EventHub(engine, poll_interval=0.2)
    try:
        await hub.start()
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN%' AND datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            )
        reader = asyncio.create_task(_collect(hub, 0, 3))
        for i in range(3):
            async with engine.begin() as conn:
                await events.append(conn, [NewEvent("test.after_loss", "t", str(i))])
        assert len(await asyncio.wait_for(reader, 10)) == 3
        deadline = asyncio.get_running_loop().time() + 5
        while not hub.listening and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        assert hub.listening
    finally:
        await hub.stop()
        await engine.dispose()
