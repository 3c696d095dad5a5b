"""The primary dies under a steady load of acknowledged writes; the standby takes over.

Writers create incidents through the HTTP API, each with its own ``Idempotency-Key``, and send
the same request again (the same key) after a 503, a 409 or a dropped connection until it is
acknowledged. The primary's Patroni and postmaster are killed with SIGKILL; Patroni promotes
the synchronous standby once the leader key lapses, and the app, connected with a multi-host
URL (``target_session_attrs=read-write``), finds it by itself. Afterwards every acknowledged
write is on the new primary exactly once.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from command.db_hosts import sqlalchemy_form
from tests.ha.conftest import POINT, HaDatabase
from tests.support import builders
from tests.support.live import serve

WRITERS = 3
BEFORE_KILL = 30  # acknowledged writes before the primary is killed
AFTER_KILL = 30  # and of writes first sent after the kill
RETRYABLE = {503, 409}  # 409: the first attempt with this key has not reported back yet

pytestmark = pytest.mark.slow


@dataclass
class Load:
    """What the writers saw."""

    started: float
    acked: dict[str, int] = field(default_factory=dict)  # key -> incident id
    acked_at: dict[str, float] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)  # each key's first attempt
    refusals: Counter[str] = field(default_factory=Counter)
    unknown: list[str] = field(default_factory=list)
    killed_at: float | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def acked_after_kill(self) -> list[float]:
        """When writes first sent after the kill were acknowledged."""
        if self.killed_at is None:
            return []
        kill = self.killed_at
        return sorted(
            at for key, at in self.acked_at.items() if self.sent_at[key] >= kill
        )


async def _writer(http: httpx.AsyncClient, headers: dict[str, str], me: int, load: Load) -> None:
    loop = asyncio.get_running_loop()
    n = 0
    while not load.stop.is_set():
        n += 1
        key = f"ha-{me}-{n}"
        load.sent_at[key] = loop.time()
        body = {"type": "medical", "lon": POINT[0], "lat": POINT[1], "summary": key}
        while True:
            try:
                r = await http.post(
                    "/api/v1/incidents",
                    json=body,
                    headers={**headers, "Idempotency-Key": key},
                    timeout=15,
                )
            except httpx.TransportError as exc:
                load.refusals[type(exc).__name__] += 1
                continue
            if r.status_code == 201:
                load.acked[key] = int(r.json()["incident"]["id"])
                load.acked_at[key] = loop.time()
                break
            code = r.json().get("code", "?")
            assert r.status_code in RETRYABLE, (r.status_code, r.text)
            if code == "request.outcome_unknown":
                load.unknown.append(key)
                break
            load.refusals[f"{r.status_code} {code}"] += 1
            if r.status_code == 503:
                assert r.headers.get("Retry-After"), r.headers
            # Retry-After is the server's advice for people; a writer under test asks again
            # as soon as it may, so that the first write the new primary takes is measured.
            await asyncio.sleep(0.05)


async def _until(
    what: str,
    check: Callable[[], Awaitable[bool]],
    limit: float,
    load: Load,
    writers: list[asyncio.Task[None]],
) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not await check():
        for writer in writers:
            if writer.done():
                writer.result()  # a writer's failure, with its own message
        seen = f"{len(load.acked)} acknowledged, refused: {dict(load.refusals)}"
        assert asyncio.get_running_loop().time() < deadline, f"{what}: not in {limit} s; {seen}"
        await asyncio.sleep(0.05)


async def test_the_standby_takes_over_and_no_acknowledged_write_is_lost(
    ha_database: HaDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = ha_database.cluster
    url = ha_database.app_url()
    loop = asyncio.get_running_loop()
    async with serve(url, db_connect_timeout_s=1.0, db_statement_timeout_ms=3000) as live:
        engine = create_async_engine(sqlalchemy_form(url))
        try:
            headers = await builders.signed_in(live.http, engine, "disp1", "dispatcher")
        finally:
            await engine.dispose()
        old = cluster.primary()
        assert old is not None
        standby = next(n for n in cluster.nodes if n is not old)
        assert cluster.sync_standby() == standby.name

        load = Load(started=loop.time())
        writers = [
            asyncio.create_task(_writer(live.http, headers, me, load)) for me in range(WRITERS)
        ]

        async def enough_before() -> bool:
            return len(load.acked) >= BEFORE_KILL

        await _until("writes acknowledged before the kill", enough_before, 60, load, writers)
        load.killed_at = loop.time()
        old.kill()

        async def promoted() -> bool:
            return await asyncio.to_thread(standby.role) == "primary"

        await _until("the standby promoted", promoted, 60, load, writers)
        promoted_at = loop.time()

        async def enough_after() -> bool:
            return len(load.acked_after_kill()) >= AFTER_KILL

        await _until("writes acknowledged by the new primary", enough_after, 60, load, writers)
        load.stop.set()
        await asyncio.gather(*writers)

    # What the new primary holds, read directly.
    admin = create_async_engine(ha_database.admin_url())
    try:
        async with admin.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT summary, id FROM incidents WHERE summary LIKE 'ha-%'")
                )
            ).all()
    finally:
        await admin.dispose()
    copies = Counter(summary for summary, _ in rows)
    ids = {summary: ident for summary, ident in rows}
    lost = [k for k in load.acked if copies[k] == 0]
    doubled = [k for k, n in copies.items() if n > 1]
    wrong = [k for k, ident in load.acked.items() if copies[k] == 1 and ids[k] != ident]
    first_write = load.acked_after_kill()[0] - load.killed_at
    figures = {
        "writes_acked": len(load.acked),
        "acked_after_kill": len(load.acked_after_kill()),
        "lost": len(lost),
        "doubled": len(doubled),
        "outcome_unknown": len(load.unknown),
        "promotion_s": round(promoted_at - load.killed_at, 2),
        "failover_s": round(first_write, 2),
        "refusals": dict(load.refusals),
    }
    with capsys.disabled():
        print(f"\nfailover figures: {json.dumps(figures, sort_keys=True)}")
    assert (lost, doubled, wrong) == ([], [], [])
    assert cluster.primary() is standby
