"""A database restart during a steady flow of calls loses no call event: the bridge holds them
in memory, then in its spool file, and writes them in order once the database is back."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from telephony.calls import CallTransitioned
from telephony.simulator import AmiSimulator
from telephony.tables import call_transitions
from telephony.tracker import DomainEvent
from tests.integration.telephony.conftest import service
from tests.support.database import PgServer
from tests.support.live import LiveApp
from tests.support.waiting import until


async def test_a_database_restart_mid_flow_loses_no_call_event(
    live: LiveApp, sim: AmiSimulator, pg_server: PgServer
) -> None:
    svc = service(live)
    bridge = svc.bridge
    # a small memory bound, so that the outage also goes through the spool file
    bridge.settings = replace(bridge.settings, outbox_limit=20)
    assert bridge.settings.spool_path
    spool = Path(bridge.settings.spool_path)
    learnt: list[DomainEvent] = []
    notice = svc.notice

    def record(events: Sequence[DomainEvent]) -> None:
        learnt.extend(events)
        notice(events)

    svc.notice = record  # type: ignore[method-assign]
    for n in range(1, 5):
        sim.add_member(f"Local/100{n}@agents", f"Seat 100{n}")
    flow = asyncio.create_task(sim.flow(12, duration=8, talk=0.4, hold_for=30))
    await until(lambda: sum(isinstance(e, CallTransitioned) for e in learnt) >= 10)

    await asyncio.to_thread(pg_server.cluster.stop)
    try:
        await until(lambda: bridge.health.status == "degraded" and bridge.held[1] > 0)
        assert bridge.health.reason is not None
        assert "database is unavailable" in bridge.health.reason
        assert spool.exists()
        status = svc.link_status()
        assert status["status"] == "degraded"
        assert status["held_in_spool"] > 0
    finally:
        await asyncio.to_thread(pg_server.cluster.start)
    await flow
    await until(lambda: not bridge.tracker.live_calls(), 30)
    await until(lambda: bridge.held == (0, 0) and bridge.health.status == "ok", 30)
    await bridge.flush()
    assert not spool.exists()
    assert bridge.stats.resyncs == 1  # nothing was rebuilt from a snapshot: all was kept

    expected: dict[str, list[str]] = {}
    for e in learnt:
        if isinstance(e, CallTransitioned):
            expected.setdefault(e.call.id, []).append(e.to_state)
    async with live.container.engine.connect() as conn:
        found = (await conn.execute(sa.select(call_transitions.c.call_id,
                                              call_transitions.c.to_state)
                                    .order_by(call_transitions.c.id))).all()
    stored: dict[str, list[str]] = {}
    for row in found:
        stored.setdefault(row.call_id, []).append(row.to_state)
    assert len(expected) >= 20
    assert stored == expected
