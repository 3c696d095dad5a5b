"""The single-process tracking defaults: the latest position per unit in the units table, newest
by device time in one statement per batch, and the in-process relay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from command.tracking.minimal import LatestPositionWriter, LocalRelay
from dispatch.avl.fixes import Fix
from tests.support.dispatch_builders import add_unit

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _fix(unit: str, lon: float, at: datetime, jump: bool = False) -> Fix:
    return Fix(unit, lon, 47.1, at, at, "terminal", jump=jump)


async def _where(engine: AsyncEngine, unit: str) -> tuple[float, datetime]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT ST_X(fix) AS lon, fix_at FROM dispatch_units WHERE id = :u"),
                {"u": unit},
            )
        ).one()
    return float(row.lon), row.fix_at


async def test_the_newest_by_device_time_wins_whatever_the_order(engine: AsyncEngine) -> None:
    await add_unit(engine, "U1", "engine")
    await add_unit(engine, "U2", "engine")
    writer = LatestPositionWriter(engine)
    await writer.write(
        [
            _fix("U1", 9.52, T0 + timedelta(seconds=20)),
            _fix("U1", 9.50, T0),
            _fix("U2", 9.40, T0),
            _fix("U1", 9.51, T0 + timedelta(seconds=10)),
        ]
    )
    assert await _where(engine, "U1") == (9.52, T0 + timedelta(seconds=20))
    assert await _where(engine, "U2") == (9.40, T0)
    # A late batch never moves the marker back; a flagged jump never moves it at all.
    await writer.write([_fix("U1", 9.49, T0 + timedelta(seconds=5))])
    await writer.write([_fix("U1", 10.9, T0 + timedelta(seconds=30), jump=True)])
    assert await _where(engine, "U1") == (9.52, T0 + timedelta(seconds=20))
    await writer.write([_fix("U1", 9.53, T0 + timedelta(seconds=40))])
    assert await _where(engine, "U1") == (9.53, T0 + timedelta(seconds=40))


async def test_unknown_units_are_skipped(engine: AsyncEngine) -> None:
    await add_unit(engine, "U1", "engine")
    await LatestPositionWriter(engine).write([_fix("NOPE", 9.5, T0), _fix("U1", 9.5, T0)])
    assert await _where(engine, "U1") == (9.5, T0)


async def test_the_relay_hands_batches_to_every_listener_until_it_leaves() -> None:
    relay = LocalRelay()
    got: list[Sequence[Fix]] = []
    other: list[Sequence[Fix]] = []

    def broken(_: Sequence[Fix]) -> None:
        raise RuntimeError("a listener that fails")

    leave = relay.subscribe(got.append)
    relay.subscribe(broken)
    relay.subscribe(other.append)
    batch = [_fix("U1", 9.5, T0)]
    await relay.publish(batch)
    leave()
    await relay.publish(batch)
    assert got == [batch]
    assert other == [batch, batch]
