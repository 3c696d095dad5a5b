"""The cross-process position relay over PostgreSQL notifications (a ``PositionRelay``).

``publish`` hands the fixes to this process's consoles at once (``Fanout.publish``: not round
-tripped through the database) and queues the ones that moved a marker for the other processes.
A sender task sends the queue every ``flush_interval``: coalesced per unit (latest by device
time), packed many to a notification within PostgreSQL's 8000-byte payload limit, all of one
flush in one round trip (``pg_notify`` over an array). Each process listens on ``CHANNEL`` on a
connection of its own and hands what other processes sent to its fan-out; its own notifications
come back to it too and are skipped by their origin.

Positions are ephemeral here: while a connection is down, the queue keeps only each unit's
latest, and what other processes sent meanwhile is not replayed (each unit's next position
puts its marker right; the stored breadcrumbs are the record). Both connections reconnect every
``reconnect_interval`` until they are back.

The encoding is compact JSON: ``{"o": origin, "f": [[unit, lon*1e7, lat*1e7, device ms,
received ms, speed, heading, accuracy, source, altitude, battery], ...]}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import asyncpg

from command.pg_listen import LISTEN_FAILURES, listen
from command.tracking.fanout import Fanout
from dispatch.avl.fixes import Fix

log = logging.getLogger(__name__)

CHANNEL = "cad_positions"
#: PostgreSQL refuses payloads of 8000 bytes or more; leave room for the frame around the fixes
PAYLOAD_LIMIT = 7_900

_E7 = 10_000_000

Listener = Callable[[Sequence[Fix]], None]


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _row(fix: Fix) -> str:
    return json.dumps(
        [
            fix.unit_id,
            round(fix.lon * _E7),
            round(fix.lat * _E7),
            _ms(fix.device_time),
            _ms(fix.received_at),
            fix.speed_mps,
            fix.heading_deg,
            fix.accuracy_m,
            fix.source,
            fix.altitude_m,
            fix.battery_pct,
        ],
        separators=(",", ":"),
    )


def encode(origin: str, fixes: Sequence[Fix], limit: int = PAYLOAD_LIMIT) -> list[str]:
    """The payloads carrying ``fixes``: as few as fit, each under ``limit`` bytes."""
    head = f'{{"o":{json.dumps(origin)},"f":['
    payloads: list[str] = []
    rows: list[str] = []
    size = len(head.encode()) + 2
    for fix in fixes:
        row = _row(fix)
        grown = len(row.encode()) + 1
        if rows and size + grown > limit:
            payloads.append(head + ",".join(rows) + "]}")
            rows, size = [], len(head.encode()) + 2
        rows.append(row)
        size += grown
    if rows:
        payloads.append(head + ",".join(rows) + "]}")
    return payloads


def decode(payload: str) -> tuple[str, list[Fix]]:
    """The origin and the fixes of one payload (ValueError when it is not one of ours)."""
    data = json.loads(payload)
    fixes = [
        Fix(
            unit_id=str(u),
            lon=lon / _E7,
            lat=lat / _E7,
            device_time=_at(t),
            received_at=_at(r),
            source=str(src),
            speed_mps=spd,
            heading_deg=hdg,
            accuracy_m=acc,
            altitude_m=alt,
            battery_pct=batt,
        )
        for u, lon, lat, t, r, spd, hdg, acc, src, alt, batt in data["f"]
    ]
    return str(data["o"]), fixes


class PgRelay:
    """Positions to this process's consoles directly, and to every other process's through
    PostgreSQL notifications."""

    def __init__(
        self,
        dsn: str,
        fanout: Fanout,
        *,
        flush_interval: float = 0.02,
        reconnect_interval: float = 2.0,
    ) -> None:
        self._dsn = dsn
        self.fanout = fanout
        self.origin = uuid.uuid4().hex[:12]
        #: how this process's own payloads begin (``encode``'s head)
        self._own = f'{{"o":{json.dumps(self.origin)},'
        self._flush_interval = flush_interval
        self._reconnect_interval = reconnect_interval
        self._outbox: dict[str, Fix] = {}
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._sender: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._next_connect = 0.0
        self._closing = False
        self.listening = False
        #: counters for health and the benchmark
        self.sent_fixes = 0
        self.sent_notifications = 0
        self.received_fixes = 0
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Also call ``listener`` with every batch this process publishes (as it is, before
        the fan-out's latest-wins rule); returns the unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    async def publish(self, fixes: Sequence[Fix]) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(fixes)
            except Exception:
                log.exception("a position listener failed; the others still get the batch")
        for fix in self.fanout.publish(fixes):
            self._outbox[fix.unit_id] = fix  # newer by device time: Fanout.publish says so
        if self._outbox:
            self._wake.set()

    async def start(self) -> None:
        await self._connect()
        self._task = asyncio.create_task(self._run(), name="position relay")

    async def stop(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=5)
        for conn in (self._listener, self._sender):
            await self._close(conn)
        self._listener = self._sender = None
        self.listening = False

    async def _connect(self) -> None:
        self._next_connect = time.monotonic() + self._reconnect_interval
        try:
            if self._listener is None or self._listener.is_closed():
                self._listener = await listen(self._dsn, CHANNEL, self._on_notify, self._on_lost)
                self.listening = True
            if self._sender is None or self._sender.is_closed():
                self._sender = await asyncpg.connect(self._dsn, timeout=10)
        except LISTEN_FAILURES as exc:
            log.warning("position relay not connected (%s); retrying", exc)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload.startswith(self._own):
            return  # this process's own, back from the database: its consoles have them
        try:
            origin, fixes = decode(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("a position notification that is not ours was ignored")
            return
        if origin == self.origin:
            return
        self.received_fixes += len(fixes)
        self.fanout.publish(fixes)

    def _on_lost(self, *_args: object) -> None:
        self.listening = False
        self._listener = None
        self._wake.set()

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._reconnect_interval):
                    await self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            down = not self.listening or self._sender is None or self._sender.is_closed()
            if down and time.monotonic() >= self._next_connect:
                await self._connect()
            if self._outbox and self._sender is not None and not self._sender.is_closed():
                await self._flush(self._sender)
                # Let the next positions gather: one round trip carries them all.
                await asyncio.sleep(self._flush_interval)

    async def _flush(self, sender: asyncpg.Connection) -> None:
        fixes = list(self._outbox.values())
        self._outbox = {}
        payloads = encode(self.origin, fixes)
        try:
            await sender.execute(
                "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", CHANNEL, payloads
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("positions not relayed to other processes (%s); reconnecting", exc)
            for fix in fixes:  # keep them, unless a newer one came meanwhile
                self._outbox.setdefault(fix.unit_id, fix)
            await self._close(sender)
            self._sender = None
            self._wake.set()
            return
        self.sent_fixes += len(fixes)
        self.sent_notifications += len(payloads)

    @staticmethod
    async def _close(conn: asyncpg.Connection | None) -> None:
        if conn is None or conn.is_closed():
            return
        try:
            await asyncio.wait_for(conn.close(), 2.0)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            conn.terminate()
