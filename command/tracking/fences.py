"""Which fences apply to which unit, read from the database in bulk and refreshed on a timer.

- the arrival circle of the incident a unit is assigned to (``CAD_ARRIVAL_RADIUS_M`` around it),
  while it is dispatched or en route;
- the jurisdiction of the unit's home station (leaving it raises an event);
- the region's hazard zones (zones whose kind is one of ``CAD_HAZARD_ZONE_KINDS``).

Assignments change often and are re-read every ``assignments_every_s``; zones and jurisdictions
rarely, every ``areas_every_s``. Each refresh is one query per kind for the whole fleet.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import shapely
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.avl.geofence import Fence, Watch

_ASSIGNED = text(
    "SELECT u.id AS unit_id, i.id AS incident_id, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat "
    "FROM dispatch_units u JOIN incidents i ON i.id = u.incident_id "
    "WHERE u.status IN ('dispatched', 'en_route')"
)
_HOMES = text(
    "SELECT u.id AS unit_id, j.id AS jurisdiction_id, ST_AsBinary(j.geom) AS wkb "
    "FROM dispatch_units u JOIN dispatch_stations s ON s.id = u.station_id "
    "JOIN gis_jurisdictions j ON j.region = s.region AND ST_Covers(j.geom, s.geom)"
)
_ZONES = text(
    "SELECT u.id AS unit_id, z.id AS zone_id, ST_AsBinary(z.geom) AS wkb "
    "FROM dispatch_units u JOIN dispatch_stations s ON s.id = u.station_id "
    "JOIN gis_zones z ON z.region = s.region WHERE z.kind = ANY(:kinds)"
)


@dataclass(frozen=True)
class FencePolicy:
    arrival_radius_m: float = 80.0
    hazard_kinds: tuple[str, ...] = ("hazard", "chemical_site", "flood", "fire")
    assignments_every_s: float = 2.0
    areas_every_s: float = 60.0


@dataclass
class FenceBook:
    """Every unit's fences, as last read."""

    engine: AsyncEngine
    policy: FencePolicy = field(default_factory=FencePolicy)
    _arrival: dict[str, Fence] = field(default_factory=dict)
    _areas: dict[str, list[Fence]] = field(default_factory=dict)
    _assignments_at: float = -1e9
    _areas_at: float = -1e9
    #: the incident each unit's arrival circle belongs to
    incident_of: dict[str, int] = field(default_factory=dict)
    #: grows with every read, so a unit's watch knows when to take its fences again
    generation: int = 0

    def for_unit(self, unit_id: str) -> Sequence[Fence]:
        fences = list(self._areas.get(unit_id, ()))
        arrival = self._arrival.get(unit_id)
        if arrival is not None:
            fences.append(arrival)
        return fences

    async def refresh(self, force: bool = False) -> bool:
        """Re-read what is due; True when something was read."""
        now = time.monotonic()
        read = False
        if force or now - self._assignments_at >= self.policy.assignments_every_s:
            await self._read_assignments()
            self._assignments_at = now
            read = True
            self.generation += 1
        if force or now - self._areas_at >= self.policy.areas_every_s:
            await self._read_areas()
            self._areas_at = now
            read = True
            self.generation += 1
        return read

    async def _read_assignments(self) -> None:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_ASSIGNED)).all()
        self._arrival = {
            r.unit_id: Fence(
                f"incident:{r.incident_id}",
                Watch.ENTER,
                center=(float(r.lon), float(r.lat)),
                radius_m=self.policy.arrival_radius_m,
            )
            for r in rows
        }
        self.incident_of = {r.unit_id: int(r.incident_id) for r in rows}

    async def _read_areas(self) -> None:
        async with self.engine.connect() as conn:
            homes = (await conn.execute(_HOMES)).all()
            zones = (await conn.execute(_ZONES, {"kinds": list(self.policy.hazard_kinds)})).all()
        areas: dict[str, list[Fence]] = {}
        shapes: dict[tuple[str, int], shapely.Geometry] = {}

        def shape(kind: str, key: int, wkb: bytes) -> shapely.Geometry:
            if (kind, key) not in shapes:
                shapes[kind, key] = shapely.from_wkb(bytes(wkb))
            return shapes[kind, key]

        for r in homes:
            areas.setdefault(r.unit_id, []).append(
                Fence(
                    f"jurisdiction:{r.jurisdiction_id}",
                    Watch.EXIT,
                    geometry=shape("j", r.jurisdiction_id, r.wkb),
                )
            )
        for r in zones:
            areas.setdefault(r.unit_id, []).append(
                Fence(f"zone:{r.zone_id}", Watch.ENTER, geometry=shape("z", r.zone_id, r.wkb))
            )
        self._areas = areas
