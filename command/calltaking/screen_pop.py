"""The screen pop: what a call-taker's console shows when a call or report is offered to their
seat (caller, earlier calls and incidents from the number, a known location, an incident draft),
the query that finds the caller's history, and the fan-out of pops to the consoles watching a seat.

The history leaves out sensitive incidents: a pop goes to whoever watches the seat, built once
for all of them, so it cannot be screened per reader; an abuser calling from the victim's phone
must not hear of the case from the call-taker's screen either.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

POP_QUEUE = 200


class PopHub:
    """Screen pops per seat interface, to every console watching that seat."""

    def __init__(self) -> None:
        self._subs: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self.sent = 0

    def subscribe(self, interface: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(POP_QUEUE)
        self._subs.setdefault(interface, set()).add(queue)
        return queue

    def unsubscribe(self, interface: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        subs = self._subs.get(interface)
        if subs is not None:
            subs.discard(queue)
            if not subs:
                del self._subs[interface]

    def broadcast(self, message: dict[str, Any]) -> None:
        """To every console (telephony health changes)."""
        for interface in list(self._subs):
            self.publish(interface, message)

    def watched(self, interface: str) -> bool:
        return bool(self._subs.get(interface))

    def publish(self, interface: str, message: dict[str, Any]) -> int:
        delivered = 0
        for queue in tuple(self._subs.get(interface, ())):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()  # a stuck console loses its oldest pop, not the newest
            queue.put_nowait(message)
            delivered += 1
        self.sent += delivered
        return delivered


EMPTY_CONTEXT: dict[str, Any] = {"earlier_calls": [], "earlier_incidents": [], "location": None}
POP_SQL = sa.text("""
SELECT
  (SELECT coalesce(json_agg(c), '[]'::json) FROM (
     SELECT id, kind, state, queued_at, answered_at, seat, complete_reason FROM calls
     WHERE number = :number AND queued_at >= :since AND id <> :id
     ORDER BY queued_at DESC LIMIT 20) c) AS calls,
  (SELECT coalesce(json_agg(i), '[]'::json) FROM (
     SELECT id, number, type_code, status, address, created_at FROM incidents
     WHERE caller_phone = :number AND created_at >= :since
       AND NOT EXISTS (SELECT 1 FROM incident_sensitivity s WHERE s.incident_id = incidents.id)
     ORDER BY created_at DESC LIMIT 10) i) AS incidents,
  (SELECT row_to_json(l) FROM (
     SELECT lat, lon, accuracy_m, source, at FROM caller_locations
     WHERE number = :number AND at >= :loc_since ORDER BY at DESC LIMIT 1) l) AS location
""")


def decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
