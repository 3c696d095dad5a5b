"""The demo's simulated vehicles: each a unit terminal over a real websocket, speaking the same
protocol as a real one (docs/protocols/unit.md), never writing to the database itself.

A vehicle stands at its station reporting its position every few seconds. When it is assigned,
it acknowledges, reports en route and drives the route the server sent (the road network's
geometry) at the route's average speed, kept plausible; at the incident the arrival geofence
sets it on scene (it reports on scene itself a little later if the geofence only suggests it).
After a while on scene it reports returning, drives back the way it came and reports available
at its station. A vehicle called off drives home at once. A dropped connection is retried, as a
terminal on a mobile link would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import websockets
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection

from command.auth import service
from dispatch import store as dispatch_store
from dispatch.avl.drive import Path, plausible_speed_mps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoVehicle:
    unit_id: str
    token: str
    home: tuple[float, float]


@dataclass(frozen=True)
class FleetPolicy:
    every_s: float = 3.0
    on_scene_s: float = 90.0
    #: how long after arriving a vehicle waits for the geofence before reporting on scene
    arrival_wait_s: float = 20.0
    reconnect_s: float = 2.0


async def prepare(
    engine: AsyncEngine, region: str, count: int, valid_for: timedelta
) -> list[DemoVehicle]:
    """Terminal tokens (valid ``valid_for``) for the first ``count`` units of the region that
    have a station."""
    async with engine.begin() as conn:
        fleet = [
            u
            for u in await dispatch_store.list_units(conn, region=region)
            if u.station_position is not None
        ][:count]
        out = []
        for unit in fleet:
            assert unit.station_position is not None
            token = await service.create_device_token(
                conn, unit.id, "field_unit", valid_for=valid_for
            )
            home = (unit.station_position.lon, unit.station_position.lat)
            out.append(DemoVehicle(unit.id, token, home))
    return out


class Vehicle:
    """One simulated vehicle and its terminal."""

    def __init__(
        self,
        ws_url: str,
        vehicle: DemoVehicle,
        policy: FleetPolicy = FleetPolicy(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.url = f"{ws_url}/api/v1/units/ws?token={vehicle.token}"
        self.vehicle = vehicle
        self.policy = policy
        self.clock = clock
        self.where = vehicle.home
        self.phase = "idle"  # idle | to_scene | at_scene | home
        self.path: Path | None = None
        self.travelled = 0.0
        self.speed = 0.0
        self.heading = 0.0
        self.since = 0.0  # loop time the phase started
        self.reported_on_scene = False
        self.assignment_id: int | None = None
        #: whether reaching home is reported (available): not after a call-off, which did
        self._report_home = False
        self._seq = itertools.count()
        self._ws: ClientConnection | None = None

    async def run(self) -> None:
        while True:
            try:
                async with websockets.connect(self.url) as ws:
                    self._ws = ws
                    await self._converse(ws)
            except asyncio.CancelledError:
                raise
            except (OSError, websockets.WebSocketException) as exc:
                log.debug("vehicle %s reconnects: %s", self.vehicle.unit_id, exc)
            self._ws = None
            await asyncio.sleep(self.policy.reconnect_s)

    async def _converse(self, ws: ClientConnection) -> None:
        reader = asyncio.create_task(self._read(ws))
        try:
            while not reader.done():
                await self._step()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reader), self.policy.every_s)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.WebSocketException):
                await reader
        reader.result()

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            frame: dict[str, Any] = json.loads(raw)
            kind = frame.get("type")
            if kind == "assignment" and frame.get("assignment"):
                await self._assigned(frame)
            elif kind == "assignment_ended":
                self._go_home(report=False)
            elif kind == "error":
                log.debug("vehicle %s: %s", self.vehicle.unit_id, frame.get("message"))

    async def _send(self, kind: str, **body: Any) -> None:
        if self._ws is None:
            return
        frame = {"v": 1, "type": kind, "key": f"{self.vehicle.unit_id}-{uuid.uuid4().hex}", **body}
        await self._ws.send(json.dumps(frame))

    async def _assigned(self, frame: dict[str, Any]) -> None:
        a = frame["assignment"]
        if a["id"] == self.assignment_id:
            return
        self.assignment_id = a["id"]
        if a.get("acknowledged_at") is None:
            await self._send("ack", assignment_id=a["id"])
        status = frame.get("unit_status")
        if status == "dispatched":
            await self._send("status", status="en_route")
        route = frame.get("route")
        incident = frame["incident"]
        if route is not None:
            line = route["geometry"]["coordinates"]
            points = [self.where, *[(float(x), float(y)) for x, y in line]]
            self.speed = plausible_speed_mps(route["metres"], route["seconds"])
        else:  # no road route: straight there, slowly
            points = [self.where, (incident["lon"], incident["lat"])]
            self.speed = 8.0
        self._start("to_scene", Path(points))
        self.reported_on_scene = status == "on_scene"

    def _start(self, phase: str, path: Path | None) -> None:
        self.phase, self.path, self.travelled = phase, path, 0.0
        self.since = asyncio.get_running_loop().time()

    def _go_home(self, report: bool) -> None:
        self.assignment_id = None
        back = Path([self.where, self.vehicle.home])
        if self.path is not None and self.phase in ("to_scene", "at_scene"):
            back = self.path.reversed_until(self.travelled)
        self._report_home = report
        self._start("home", back)

    async def _step(self) -> None:
        """One tick: move, report the position, and what the phase asks for."""
        now = asyncio.get_running_loop().time()
        if self.path is not None and self.phase in ("to_scene", "home"):
            self.travelled += self.speed * self.policy.every_s
            spot = self.path.at(self.travelled)
            self.where, self.heading = (spot.lon, spot.lat), spot.heading_deg
            if spot.arrived and self.phase == "to_scene":
                self.phase, self.since = "at_scene", now
            elif spot.arrived and self.phase == "home":
                self.phase, self.path = "idle", None
                if self._report_home:
                    await self._send("status", status="available")
        moving = self.phase in ("to_scene", "home")
        await self._send(
            "position",
            position={
                "lon": round(self.where[0], 7),
                "lat": round(self.where[1], 7),
                "time": self.clock().isoformat(),
                "speed": round(self.speed, 1) if moving else 0.0,
                "heading": round(self.heading, 1),
                "accuracy": 5.0,
                "seq": next(self._seq),
            },
        )
        if self.phase == "at_scene":
            waited = now - self.since
            if not self.reported_on_scene and waited >= self.policy.arrival_wait_s:
                self.reported_on_scene = True
                await self._send("status", status="on_scene")  # refused if the fence set it
            if waited >= self.policy.on_scene_s:
                await self._send("status", status="returning")
                self._go_home(report=True)


async def drive(ws_url: str, fleet: list[DemoVehicle], policy: FleetPolicy) -> None:
    """Run every vehicle until cancelled, their ticks spread over the interval."""
    tasks = []
    for i, v in enumerate(fleet):
        vehicle = Vehicle(ws_url, v, policy)
        tasks.append(asyncio.create_task(_later(i * policy.every_s / max(1, len(fleet)), vehicle)))
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _later(delay: float, vehicle: Vehicle) -> None:
    await asyncio.sleep(delay)
    await vehicle.run()
