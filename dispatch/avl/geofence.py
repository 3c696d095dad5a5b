"""Geofences evaluated in device-time order, whatever order the positions arrive in.

Two pure parts:

- :class:`Timeline` puts one unit's fixes back in device-time order. A fix is *settled* (handed
  on for evaluation) once nothing earlier can still come: at once when the terminal numbers its
  fixes and this one follows the last settled without a gap, otherwise ``tolerance_s`` after it
  arrived. A fix that arrives after a later one was settled is *late*: it is kept in the history
  but not fenced (counted, so the tolerance can be tuned). A batch buffered offline and sent on
  reconnect is numbered, so it settles at once and in order.
- :class:`FenceWatch` follows one unit against its fences with hysteresis (leave only
  ``margin_m`` beyond the edge) and a debounce (the new side must hold for ``dwell_s`` of device
  time over at least ``min_fixes`` fixes), so GPS jitter at an edge gives no enter/exit pairs.
  A crossing is dated by the first fix on the new side.

Given the same fixes, the crossings are the same for any arrival order in which every fix arrives
within the tolerance: that is what the tests check by shuffling batches.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely import Point, prepared
from shapely.geometry.base import BaseGeometry

from dispatch.avl.fixes import Fix

_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQUATOR = 111_320.0

# --------------------------------------------------------------------------- ordering


@dataclass
class Timeline:
    """One unit's fixes, released in device-time order (see the module docstring)."""

    tolerance_s: float = 30.0
    _pending: list[tuple[datetime, int, Fix]] = field(default_factory=list)
    #: the device times in ``_pending``: a replayed fix is found without a scan
    _pending_times: set[datetime] = field(default_factory=set)
    _arrivals: int = 0
    settled_until: datetime | None = None
    last_seq: int | None = None
    late: int = 0

    def add(self, fix: Fix, now: datetime) -> list[Fix]:
        """Take a fix in; the fixes settled now, in device-time order."""
        if self.settled_until is not None and fix.device_time <= self.settled_until:
            self.late += 1
            return self.release(now)
        if fix.device_time in self._pending_times:
            return self.release(now)  # the same fix again (a replayed buffer)
        self._arrivals += 1
        heapq.heappush(self._pending, (fix.device_time, self._arrivals, fix))
        self._pending_times.add(fix.device_time)
        return self.release(now)

    def release(self, now: datetime) -> list[Fix]:
        """The fixes that can be settled at ``now`` (call it on a timer, too)."""
        out: list[Fix] = []
        wait = timedelta(seconds=self.tolerance_s)
        while self._pending:
            _, _, first = self._pending[0]
            follows = (
                first.seq is not None
                and self.last_seq is not None
                and first.seq == self.last_seq + 1
            )
            if not follows and now < first.received_at + wait:
                break
            heapq.heappop(self._pending)
            self._pending_times.discard(first.device_time)
            self.settled_until = first.device_time
            if first.seq is not None:
                self.last_seq = first.seq
            out.append(first)
        return out

    @property
    def pending(self) -> int:
        return len(self._pending)


# --------------------------------------------------------------------------- fences


class Watch(StrEnum):
    """Which crossing of a fence the dispatcher is told about."""

    ENTER = "enter"  # an incident's arrival circle, a hazard zone
    EXIT = "exit"  # the unit's jurisdiction


class _Local:
    """An equirectangular projection around a point: metres, good to 0.1 % over a city."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0 = lon0
        self.lat0 = lat0
        self.kx = _M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * _M_PER_DEG_LAT

    def coords(self, lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.column_stack(
            ((lonlat[:, 0] - self.lon0) * self.kx, (lonlat[:, 1] - self.lat0) * _M_PER_DEG_LAT)
        )


@dataclass(frozen=True)
class Fence:
    """An area to watch: a circle (``radius_m`` around ``center``) or a WGS84 polygon."""

    id: str  # incident:42 | jurisdiction:7 | zone:3
    watch: Watch
    geometry: BaseGeometry | None = None
    center: tuple[float, float] | None = None  # lon, lat
    radius_m: float = 0.0
    margin_m: float = 30.0

    def __post_init__(self) -> None:
        if (self.geometry is None) == (self.center is None):
            raise ValueError("a fence is a circle or a polygon")


class _Shape:
    """A fence ready for many distance questions (projected, prepared)."""

    def __init__(self, fence: Fence) -> None:
        self.fence = fence
        if fence.center is not None:
            self.local = _Local(*fence.center)
            self.polygon = None
        else:
            assert fence.geometry is not None
            c = fence.geometry.centroid
            self.local = _Local(c.x, c.y)
            metric = shapely.transform(fence.geometry, self.local.coords)
            self.polygon = metric
            self.prepared = prepared.prep(metric)

    def outside_by_m(self, lon: float, lat: float) -> float:
        """How far outside the fence the point is (negative or 0 inside)."""
        x, y = self.local.xy(lon, lat)
        if self.polygon is None:
            return math.hypot(x, y) - self.fence.radius_m
        p = Point(x, y)
        if self.prepared.contains(p):
            return 0.0
        return float(self.polygon.distance(p))


@dataclass(frozen=True)
class Crossing:
    """A unit entered or left a fence (dated by the first fix on the new side)."""

    unit_id: str
    fence_id: str
    entered: bool
    at: datetime
    lon: float
    lat: float


@dataclass
class _State:
    inside: bool
    candidate: Fix | None = None  # first fix on the other side, not yet confirmed
    count: int = 0


@dataclass
class FenceWatch:
    """One unit against its fences, in device-time order (feed it settled fixes only)."""

    unit_id: str
    dwell_s: float = 10.0
    min_fixes: int = 2
    _shapes: dict[str, _Shape] = field(default_factory=dict)
    _states: dict[str, _State] = field(default_factory=dict)

    def set_fences(self, fences: Iterable[Fence]) -> None:
        """The fences that apply from now on (kept state for fences that stay)."""
        wanted = {f.id: f for f in fences}
        for fid in list(self._shapes):
            if fid not in wanted or self._shapes[fid].fence != wanted[fid]:
                del self._shapes[fid]
                self._states.pop(fid, None)
        for fid, fence in wanted.items():
            if fid not in self._shapes:
                self._shapes[fid] = _Shape(fence)

    @property
    def fences(self) -> Mapping[str, Fence]:
        return {fid: s.fence for fid, s in self._shapes.items()}

    def inside(self, fence_id: str) -> bool | None:
        state = self._states.get(fence_id)
        return None if state is None else state.inside

    def feed(self, fix: Fix) -> list[Crossing]:
        """The crossings this settled fix confirms."""
        out: list[Crossing] = []
        for fid, shape in self._shapes.items():
            outside = shape.outside_by_m(fix.lon, fix.lat)
            state = self._states.get(fid)
            if state is None:
                # Until shown otherwise a unit is where nobody needs telling: inside its
                # jurisdiction, outside an incident's circle or a hazard zone. A unit first seen
                # on the watched side crosses, with the same debounce as any other crossing.
                state = self._states[fid] = _State(inside=shape.fence.watch is Watch.EXIT)
            other_side = outside > shape.fence.margin_m if state.inside else outside <= 0.0
            if not other_side:
                state.candidate, state.count = None, 0
                continue
            if state.candidate is None:
                state.candidate = fix
            state.count += 1
            out += self._confirm(fid, state, fix)
        return out

    def _confirm(self, fid: str, state: _State, fix: Fix) -> list[Crossing]:
        first = state.candidate
        assert first is not None
        held = (fix.device_time - first.device_time).total_seconds()
        if state.count < self.min_fixes or held < self.dwell_s:
            return []
        state.inside = not state.inside
        state.candidate, state.count = None, 0
        return [Crossing(self.unit_id, fid, state.inside, first.device_time, first.lon, first.lat)]
