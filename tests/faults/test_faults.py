"""Each fault under a steady load: the app serves again within 10 s, every acknowledged item is
in the database exactly once, nothing unacknowledged is there twice, every console received
every event once, every terminal's buffer was replayed without a duplicate.

The short form runs in `make test`; `make test-faults` sets CAD_FAULT_SECONDS and
CAD_FAULT_FREEZE_SECONDS for the long one (docs/reliability.md, "The fault suite").
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import text

from telephony.ami_client import AmiClient
from tests.faults.checker import calls_recorded, check
from tests.faults.conftest import ASSIGNABLE, Rig
from tests.faults.injectors import FAULTS
from tests.faults.ledger import Ledger
from tests.faults.load import (
    CallerClient,
    ConsoleClient,
    Probe,
    Run,
    TerminalClient,
    dispatch,
    intake,
    pause,
)
from tests.faults.report import Figures
from tests.support.asterisk import MISSING
from tests.support.waiting import until

#: the faults that cut every websocket (the others may leave them open)
SOCKETS_CUT = {"kill -9 app", "drop websockets"}
#: the supervisor's child that each fault ends, and that it must have started again
ENDS = {"kill -9 app": "app", "restart database": "database", "kill -9 database": "database"}


async def _head(rig: Rig, http: httpx.AsyncClient) -> int:
    answer = await http.get("/api/v1/events/head", headers=rig.headers)
    answer.raise_for_status()
    return int(answer.json()["last_seq"])


async def _until_calls_recorded(rig: Rig, ledger: Ledger) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + rig.durations.drain_s
    while not await calls_recorded(rig.engine, ledger) and loop.time() < deadline:
        await asyncio.sleep(0.2)  # polled: the bridge writes the calls behind


@asynccontextmanager
async def _callers(
    rig: Rig, run: Run, probe: Probe, fault: str
) -> AsyncIterator[list[CallerClient]]:
    """Callers into the real Asterisk, when there is one (from an AMI session of their own)."""
    if rig.pbx is None:
        yield []
        return
    ami = await AmiClient.open("127.0.0.1", rig.pbx.port, "cad", rig.pbx.secret, _ignore)
    try:
        yield [CallerClient(run, ami, probe.linked, series=list(FAULTS).index(fault))]
    finally:
        ami.close()


def _ignore(*_: object) -> None:
    """What Asterisk tells the callers' own session: not theirs to follow."""


async def _logged_head(rig: Rig) -> tuple[int, int]:
    """The log's last sequence number, and how many events still wait for one."""
    async with rig.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT coalesce(max(seq), 0), count(*) FILTER (WHERE seq IS NULL) "
                    "FROM events"
                )
            )
        ).one()
    return int(row[0]), int(row[1])


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(FAULTS))
async def test_fault_under_load(rig: Rig, fault: str, figures: list[Figures]) -> None:
    if fault == "cut AMI" and rig.pbx is None:
        pytest.skip(MISSING)
    run = Run(rig.base_url, rig.ws_url, Ledger(), prefix=fault.replace(" ", "").replace("-", ""))
    limits = httpx.Limits(max_connections=20)
    async with (
        httpx.AsyncClient(base_url=rig.base_url, limits=limits) as http,
        contextlib.AsyncExitStack() as stack,
    ):
        after = await _head(rig, http)
        probe = Probe(run, f"/api/v1/events?after={after}&limit=1", rig.headers)
        callers = await stack.enter_async_context(_callers(rig, run, probe, fault))
        created: asyncio.Queue[int] = asyncio.Queue()
        units: asyncio.Queue[str] = asyncio.Queue()
        for unit in ASSIGNABLE:
            units.put_nowait(unit)
        terminals = [TerminalClient(run, u, t) for u, t in rig.device_tokens.items()]
        consoles = [ConsoleClient(run, rig.console_token, after) for _ in range(2)]
        tasks = [
            asyncio.create_task(probe(http)),
            *(asyncio.create_task(intake(run, http, rig.headers, created)) for _ in range(2)),
            asyncio.create_task(dispatch(run, http, rig.headers, created, units)),
            *(asyncio.create_task(t()) for t in terminals),
            *(asyncio.create_task(c()) for c in consoles),
            *(asyncio.create_task(c()) for c in callers),
        ]
        try:
            await pause(run.give_up, rig.durations.load_s)  # the steady load before the fault
            ended_child = ENDS.get(fault)
            before = rig.app.pid(ended_child) if ended_child else None
            started = time.monotonic()
            recovered_how = await FAULTS[fault](rig.target())
            ended = time.monotonic()
            # Served again: a read answered (the Asterisk link up again, for its fault).
            back = probe.linked_after if fault == "cut AMI" else probe.served_after
            await until(lambda: back(ended) is not None, rig.durations.recovery_limit_s)
            served = back(ended)
            assert served is not None
            await pause(run.give_up, rig.durations.load_s)  # and after it
            run.stop.set()
            # What is still unanswered is sent again until answered (or known to be unknown).
            await until(lambda: not run.ledger.open_items(), rig.durations.drain_s)
            await until(lambda: all(not t.buffer for t in terminals), rig.durations.drain_s)
            await _until_calls_recorded(rig, run.ledger)
            head, unsequenced = await _logged_head(rig)
            for console in consoles:
                console.target = head
            await asyncio.wait_for(
                asyncio.gather(*(c.done.wait() for c in consoles)), rig.durations.drain_s
            )
        finally:
            run.stop.set()
            run.give_up.set()
            await asyncio.gather(*tasks)

    found = await check(rig.engine, run.ledger, consoles)
    # The fault's window: from its start until the app served again (a second at least, for
    # the faults that last an instant).
    window_end = max(served, started + 1.0)
    figures.append(
        Figures(
            fault=fault,
            load_held=run.ledger.acked_between(started, window_end) / (window_end - started),
            outage_s=served - started,
            recovery_s=served - ended,
            recovered=recovered_how,
            acked=sum(found.acked.values()),
            lost=len(found.lost),
            doubled=len(found.doubled),
            events_missed=found.events_missed,
            events_twice=found.events_twice,
            retries=run.ledger.retries,
            unknown=sum(1 for i in run.ledger.items if i.unknown),
        )
    )
    assert run.ledger.server_errors == []
    assert found.lost == [], found.lost[:20]
    assert found.doubled == [], (found.doubled[:20], found.doubled_calls[:20])
    assert (found.events_missed, found.events_twice, unsequenced) == (0, 0, 0)
    assert served - ended < rig.durations.recovery_limit_s
    if ended_child is not None:  # started again by the supervisor, not by this test
        assert rig.app.pid(ended_child) != before
    # The load really ran, through every client, and the consoles were really dropped.
    kinds = ["incident", "note", "assignment", "release", "position", "message"]
    for kind in kinds + (["call"] if callers else []):
        assert found.acked[kind] > 0, (kind, found.acked)
    if fault in SOCKETS_CUT:
        assert all(c.connects >= 2 for c in consoles), [c.connects for c in consoles]
        assert all(t.connects >= 2 for t in terminals), [t.connects for t in terminals]
