"""Playback: where each unit was, and when, for a unit over a time window or for an incident
(every unit while it was assigned to it). What after-action review and complaints need.

Tracks are simplified in the region's metric projection (``gis_regions.srid_metric``, read once),
or, before the region is imported, in the UTM zone of the track itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command.incidents.service import IncidentService
from dispatch import store as dispatch_store
from dispatch.avl import store, tracks
from dispatch.avl.store import Worked
from dispatch.avl.tracks import TrackPoint, UnitTrack, Window
from gis.coords import metric_crs_for
from gis.errors import RegionNotFoundError
from gis.regions import region_info

DEFAULT_TOLERANCE_M = 10.0


@dataclass(frozen=True)
class UnitPlayback:
    window: Window
    tolerance_m: float
    track: UnitTrack


@dataclass(frozen=True)
class IncidentPlayback:
    incident_id: int
    tolerance_m: float
    worked: list[Worked]
    tracks: list[UnitTrack]


class Playback:
    """Reads tracks back; built once by the bootstrap."""

    def __init__(
        self,
        engine: AsyncEngine,
        incidents: IncidentService,
        clock: Callable[[], datetime],
        region: str,
        max_window_hours: float,
    ) -> None:
        self.engine = engine
        self.incidents = incidents
        self.clock = clock
        self.region = region
        self.max_window_hours = max_window_hours
        self._srid: int | None = None

    async def unit(
        self,
        unit_id: str,
        since: datetime | None,
        until: datetime | None,
        tolerance_m: float = DEFAULT_TOLERANCE_M,
    ) -> UnitPlayback:
        """One unit's track in a window (by default the last 24 hours)."""
        window = tracks.window(since, until, self.clock(), self.max_window_hours)
        tolerance = tracks.tolerance(tolerance_m)
        async with self.engine.connect() as conn:
            await dispatch_store.get_unit(conn, unit_id)  # an unknown unit is a 404
            points = await store.unit_track(conn, unit_id, window.since, window.until)
            epsg = await self._projection(conn, points)
        return UnitPlayback(window, tolerance, tracks.track(unit_id, points, tolerance, epsg))

    async def incident(
        self, incident_id: int, tolerance_m: float = DEFAULT_TOLERANCE_M
    ) -> IncidentPlayback:
        """Every unit's track while it was assigned to the incident."""
        tolerance = tracks.tolerance(tolerance_m)
        await self.incidents.get(incident_id)  # an unknown incident is a 404
        async with self.engine.connect() as conn:
            worked = await store.incident_units(conn, incident_id)
            found = await store.incident_tracks(conn, incident_id, self.clock())
            every = [p for points in found.values() for p in points]
            epsg = await self._projection(conn, every)
        units = sorted({w.unit_id for w in worked} | set(found))
        return IncidentPlayback(
            incident_id,
            tolerance,
            worked,
            [tracks.track(u, found.get(u, []), tolerance, epsg) for u in units],
        )

    async def _projection(self, conn: AsyncConnection, points: Sequence[TrackPoint]) -> int | None:
        if self._srid is None:
            try:
                self._srid = (await region_info(conn, self.region)).srid_metric
            except RegionNotFoundError:
                if not points:
                    return None
                return metric_crs_for(points[0].lon, points[0].lat)
        return self._srid
