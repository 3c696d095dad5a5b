"""Trackers: phones and commercial trackers that speak the OsmAnd protocol (or Traccar Client's
JSON), and the bindings of their device ids to units, made by an administrator.

A request from a device id bound to no unit is refused (``osmand.device_unknown``) and counted
(the count and the last ids are in the health report); nothing of it is stored, and no unit is
guessed. A bound device's position goes through the same checks as a terminal's
(``Tracking.report``). Binding, re-binding and unbinding are audited in their transaction.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

from sqlalchemy.ext.asyncio import AsyncEngine

from command import audit
from command.dispatching.unit_status import UnitStatusReports
from command.errors import InvalidInput, NotFound
from command.health import PartHealth
from command.origin import Origin
from command.tracking import keys
from command.tracking.keys import Binding
from command.tracking.service import Tracking
from dispatch.avl import osmand
from dispatch.avl.fixes import Fix
from dispatch.avl.osmand import OsmAndReport

log = logging.getLogger(__name__)

#: How many unknown device ids are remembered (the count goes on).
_UNKNOWN_KEPT = 100


@dataclass(frozen=True)
class Stored:
    device_id: str
    unit_id: str
    fix: Fix


class Trackers:
    """The tracker use cases, built once by the bootstrap."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], datetime],
        tracking: Tracking,
        unit_status: UnitStatusReports,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.tracking = tracking
        self.unit_status = unit_status
        self.taken = 0
        self.unknown_total = 0
        #: the last unknown device ids, with how often each was refused
        self.unknown: OrderedDict[str, int] = OrderedDict()

    def read(
        self, query: Mapping[str, str], content_type: str, body: bytes
    ) -> OsmAndReport:
        """What one HTTP request says: query fields, form fields, or Traccar Client's JSON."""
        now = self.clock()
        kind = content_type.split(";")[0].strip().lower()
        text = body.decode("utf-8", "replace").strip()
        if kind == "application/json" or (text.startswith("{") and not query):
            try:
                decoded = json.loads(text)
            except ValueError:
                raise InvalidInput(
                    "the body is not JSON", code="osmand.body_not_json", field="body"
                ) from None
            return osmand.from_json(decoded, now)
        fields = dict(query)
        if text and kind in ("", "application/x-www-form-urlencoded", "text/plain"):
            fields.update(parse_qsl(text, keep_blank_values=True))
        return osmand.from_fields(fields, now)

    async def report(self, report: OsmAndReport) -> Stored:
        async with self.engine.connect() as conn:
            unit_id = await keys.unit_of(conn, report.device_id)
        if unit_id is None:
            self._count_unknown(report.device_id)
            raise NotFound(
                f"the device {report.device_id} is bound to no unit: an administrator binds it "
                "with `cad device bind`",
                code="osmand.device_unknown",
                device_id=report.device_id,
            )
        taken = await self.tracking.report(unit_id, [(report.reported, None)], "osmand")
        if taken.refused and taken.refused[0].error is not None:
            raise taken.refused[0].error
        await taken.committed()  # answered once stored: the phone may drop its copy
        self.taken += 1
        assert taken.latest is not None
        return Stored(report.device_id, unit_id, taken.latest)

    def _count_unknown(self, device_id: str) -> None:
        self.unknown_total += 1
        self.unknown[device_id] = self.unknown.pop(device_id, 0) + 1
        while len(self.unknown) > _UNKNOWN_KEPT:
            self.unknown.popitem(last=False)
        log.info("position from unknown device %s refused", device_id)

    async def health_check(self) -> PartHealth:
        last = ", ".join(list(self.unknown)[-5:])
        detail = f"{self.taken} positions taken; {self.unknown_total} refused from unknown devices"
        return PartHealth("ok", f"{detail} (last: {last})" if last else detail)

    # ------------------------------------------------------------------ bindings

    async def bind(self, device_id: str, unit_id: str, origin: Origin) -> Binding:
        device_id = device_id.strip()
        if not device_id or len(device_id) > 64:
            raise InvalidInput(
                "a device id is 1 to 64 characters",
                code="device.id_invalid",
                device_id=device_id[:80],
            )
        unit = await self.unit_status.unit(unit_id)  # NotFound for an unknown unit
        async with self.engine.begin() as conn:
            before = await keys.unit_of(conn, device_id)
            binding = await keys.bind(conn, device_id, unit.id, origin.actor)
            await audit.record(
                conn,
                actor=origin.actor,
                action="device.bind",
                object_type="device",
                object_id=device_id,
                source=origin.source,
                result="ok",
                detail={"unit_id": unit.id, "was": before},
            )
        return binding

    async def unbind(self, device_id: str, origin: Origin) -> Binding:
        async with self.engine.begin() as conn:
            gone = await keys.unbind(conn, device_id)
            if gone is None:
                raise NotFound(
                    f"the device {device_id} is bound to no unit",
                    code="device.not_bound",
                    device_id=device_id,
                )
            await audit.record(
                conn,
                actor=origin.actor,
                action="device.unbind",
                object_type="device",
                object_id=device_id,
                source=origin.source,
                result="ok",
                detail={"unit_id": gone.unit_id},
            )
        return gone

    async def bindings(self) -> list[Binding]:
        async with self.engine.connect() as conn:
            return list(await keys.bindings(conn))
