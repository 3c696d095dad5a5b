"""The event log under concurrent writers, streamed to consoles that disconnect and resume."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from command import events
from command.eventhub import EventHub
from command.events import Event, NewEvent
from tests.support import builders
from tests.support.database import PgServer, until_waiting_for_a_lock
from tests.support.live import serve
from tests.support.waiting import until

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
    # A small queue makes the hub's overflow path (re-read from the log) part of the test. The
    # server, the 20 writers and the subscriber share one event loop here: on a busy machine
    # the subscriber may answer a ping late, and this test is about order, not liveness.
    async with serve(database_url, event_queue_size=25, ws_ping_timeout_s=60) as live:
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


async def test_a_new_console_starts_at_the_head_and_gets_only_what_follows(
    database_url: str, engine: AsyncEngine
) -> None:
    async with serve(database_url) as live:
        for i in range(3):  # history a new console does not need to replay
            async with engine.begin() as conn:
                await events.append(conn, [NewEvent("test.old", "t", str(i))])
        await until(lambda: live.container.hub.last_seq >= 3)
        headers = await builders.signed_in(live.http, engine, "w3", "dispatcher")
        answer = await live.http.get("/api/v1/events/head", headers=headers)
        assert answer.status_code == 200
        head = answer.json()["last_seq"]
        assert head >= 3
        token = headers["Authorization"].removeprefix("Bearer ")
        async with websockets.connect(
            f"{live.ws_url}/api/v1/events/ws?token={token}&after={head}"
        ) as ws:
            async with engine.begin() as conn:
                await events.append(conn, [NewEvent("test.new", "t", "x")])
            first = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert (first["type"], first["seq"]) == ("test.new", head + 1)
        terminal = {"Authorization": f"Bearer {await builders.device(engine, 'E9')}"}
        refused = await live.http.get("/api/v1/events/head", headers=terminal)
        assert refused.status_code == 403  # field terminals have their own channel


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


async def _one(engine: AsyncEngine, subject: str, **data: Any) -> None:
    async with engine.begin() as conn:
        await events.append(conn, [NewEvent("test.quick", "t", subject, data)])


async def _console(hub: EventHub, after: int, into: asyncio.Queue[Event]) -> None:
    async for event in hub.stream(after):
        await into.put(event)


async def _next(seen: asyncio.Queue[Event], n: int) -> list[Event]:
    return [await asyncio.wait_for(seen.get(), 10) for _ in range(n)]


async def test_a_slow_transaction_delays_no_writer_and_its_event_comes_after_theirs(
    engine: AsyncEngine,
) -> None:
    hub = EventHub(engine, poll_interval=30)
    await hub.start()
    seen: asyncio.Queue[Event] = asyncio.Queue()
    console = asyncio.create_task(_console(hub, 0, seen))
    opened, release = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        async with engine.begin() as conn:
            await events.append(conn, [NewEvent("test.slow", "t", "slow")])
            opened.set()
            await asyncio.wait_for(release.wait(), 30)

    held = asyncio.create_task(slow())
    try:
        await asyncio.wait_for(opened.wait(), 10)
        # Twenty unrelated writers commit while the slow one holds its append open.
        await asyncio.wait_for(asyncio.gather(*(_one(engine, str(i)) for i in range(20))), 10)
        assert not held.done()
        # Consoles get their events at once, numbered 1..20, and nothing of the open one.
        quick = await _next(seen, 20)
        assert [e.seq for e in quick] == list(range(1, 21))
        assert {e.subject_id for e in quick} == {str(i) for i in range(20)}
        async with engine.connect() as conn:
            assert await events.read_after(conn, 20) == []
        release.set()
        await asyncio.wait_for(held, 10)
        # Committed last, it comes last, and a console that resumes from 20 gets it.
        [late] = await _next(seen, 1)
        assert (late.seq, late.type) == (21, "test.slow")
        async with engine.connect() as conn:
            assert [e.type for e in await events.read_after(conn, 20)] == ["test.slow"]
            written_first = await conn.scalar(text("SELECT type FROM events ORDER BY id LIMIT 1"))
        # It was written first: in the order of writing, a console that had resumed from 20
        # would have lost it.
        assert written_first == "test.slow"
    finally:
        release.set()
        console.cancel()
        await asyncio.gather(held, console, return_exceptions=True)
        await hub.stop()


async def test_two_writers_of_one_row_are_delivered_in_commit_order_not_xid_order(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE race (id int PRIMARY KEY, holder text)"))
        await conn.execute(text("INSERT INTO race VALUES (1, 'nobody')"))
    xid_taken, row_held = asyncio.Event(), asyncio.Event()
    xids: dict[str, int] = {}
    early_pid: list[int] = []
    xid = text("SELECT pg_current_xact_id()::text::bigint")

    async def write_row(conn: AsyncConnection, who: str) -> None:
        await conn.execute(text("UPDATE race SET holder = :who WHERE id = 1"), {"who": who})
        await events.append(conn, [NewEvent("test.race", "race", "1", {"by": who})])

    async def early() -> None:
        # Takes its transaction id first, then waits for the row the other one holds.
        async with engine.begin() as conn:
            xids["early"] = int(await conn.scalar(xid))
            early_pid.append(int(await conn.scalar(text("SELECT pg_backend_pid()"))))
            xid_taken.set()
            await asyncio.wait_for(row_held.wait(), 10)
            await write_row(conn, "early")

    async def late() -> None:
        await asyncio.wait_for(xid_taken.wait(), 10)
        async with engine.begin() as conn:
            xids["late"] = int(await conn.scalar(xid))
            await write_row(conn, "late")
            row_held.set()
            # Commit only once the early transaction really waits for this row.
            await until_waiting_for_a_lock(engine, early_pid[0])

    await asyncio.wait_for(asyncio.gather(early(), late()), 20)
    assert xids["early"] < xids["late"]
    async with engine.connect() as conn:
        logged = await events.read_after(conn, 0)
        holder = await conn.scalar(text("SELECT holder FROM race WHERE id = 1"))
    assert holder == "early"  # it changed the row second
    assert [e.data["by"] for e in logged] == ["late", "early"]
    assert logged[0].seq < logged[1].seq


async def test_two_hubs_deliver_the_identical_sequence(database_url: str) -> None:
    # Three processes: two with a hub, one (a command-line tool, say) without.
    engines = [create_async_engine(database_url, pool_size=4, max_overflow=8) for _ in range(3)]
    hubs = [EventHub(e, poll_interval=30) for e in engines[:2]]
    queues: list[asyncio.Queue[Event]] = [asyncio.Queue() for _ in hubs]
    consoles: list[asyncio.Task[None]] = []
    try:
        for hub, queue in zip(hubs, queues, strict=True):
            await hub.start()
            consoles.append(asyncio.create_task(_console(hub, 0, queue)))

        async def writer(engine: AsyncEngine, name: str) -> None:
            for i in range(40):
                await _one(engine, name, i=i)

        await asyncio.gather(
            *(writer(engines[w % 3], f"w{w}") for w in range(6)),
        )
        total = 6 * 40
        delivered = [await asyncio.wait_for(_next(q, total), 20) for q in queues]
        as_seen = [[(e.seq, e.subject_id, e.data["i"]) for e in d] for d in delivered]
        assert as_seen[0] == as_seen[1]
        assert [seq for seq, _, _ in as_seen[0]] == list(range(1, total + 1))
        for w in range(6):
            assert [i for _, s, i in as_seen[0] if s == f"w{w}"] == list(range(40))
    finally:
        for console in consoles:
            console.cancel()
        await asyncio.gather(*consoles, return_exceptions=True)
        for hub in hubs:
            await hub.stop()
        for e in engines:
            await e.dispose()


async def test_the_one_change_the_log_allows_is_numbering_an_event_once(
    engine: AsyncEngine,
) -> None:
    for i in range(2):
        await _one(engine, str(i))
    async with engine.connect() as conn:
        assert [e.seq for e in await events.read_after(conn, 0)] == [1, 2]
    await _one(engine, "2")  # committed, not numbered yet
    refused = {
        "UPDATE events SET seq = seq + 10 WHERE seq IS NOT NULL": "append-only",
        "UPDATE events SET seq = NULL WHERE seq = 1": "append-only",
        "UPDATE events SET seq = 3, type = 'x' WHERE seq IS NULL": "append-only",
        "UPDATE events SET type = 'x' WHERE seq IS NULL": "append-only",
        "INSERT INTO events (seq, type, subject_type, subject_id, data) "
        "VALUES (9, 't', 't', '9', '{}')": "seq assigned after commit",
    }
    for statement, message in refused.items():
        with pytest.raises(DBAPIError, match=message):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    async with engine.connect() as conn:
        assert [(e.seq, e.subject_id) for e in await events.read_after(conn, 0)] == [
            (1, "0"),
            (2, "1"),
            (3, "2"),
        ]


async def test_an_existing_log_keeps_its_numbers_through_the_upgrade(
    foundation_url: str, pg_server: PgServer
) -> None:
    engine = create_async_engine(foundation_url)
    try:
        async with engine.begin() as conn:
            # As the first release wrote them: seq from the identity, under its lock.
            for i in range(3):
                await conn.execute(
                    text(
                        "INSERT INTO events (type, subject_type, subject_id, data) "
                        "VALUES ('test.old', 't', :i, '{}')"
                    ),
                    {"i": str(i)},
                )
        await pg_server.migrate(str(make_url(foundation_url).database))
        await _one(engine, "new")
        async with engine.connect() as conn:
            logged = await events.read_after(conn, 0)
        assert [(e.seq, e.type, e.subject_id) for e in logged] == [
            (1, "test.old", "0"),
            (2, "test.old", "1"),
            (3, "test.old", "2"),
            (4, "test.quick", "new"),
        ]
    finally:
        await engine.dispose()
