"""Playback bodies: tracks as GeoJSON (RFC 7946), typed.

``points`` is a FeatureCollection of every fix as a Point with its time (flagged jumps
included, marked); ``lines`` holds one LineString per unit through its fixes (jumps left out);
``simplified`` the same lines simplified for the map, stops and ends kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from command.api.schemas.common import Model
from command.tracking.playback import IncidentPlayback, UnitPlayback
from dispatch.avl.tracks import TrackPoint, UnitTrack


def _xy(p: TrackPoint) -> tuple[float, float]:
    return (round(p.lon, 7), round(p.lat, 7))


class PointGeometry(Model):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float]


class LineGeometry(Model):
    type: Literal["LineString"] = "LineString"
    coordinates: list[tuple[float, float]]


class FixProperties(Model):
    unit_id: str
    time: datetime
    speed_mps: float | None
    heading_deg: float | None
    accuracy_m: float | None
    source: str
    jump: bool


class FixFeature(Model):
    type: Literal["Feature"] = "Feature"
    geometry: PointGeometry
    properties: FixProperties


class LineProperties(Model):
    unit_id: str
    #: the time of each vertex, in order
    times: list[datetime]
    start: datetime | None
    end: datetime | None


class LineFeature(Model):
    type: Literal["Feature"] = "Feature"
    geometry: LineGeometry
    properties: LineProperties

    @classmethod
    def of(cls, unit_id: str, points: Sequence[TrackPoint]) -> LineFeature:
        return cls(
            geometry=LineGeometry(coordinates=[_xy(p) for p in points]),
            properties=LineProperties(
                unit_id=unit_id,
                times=[p.at for p in points],
                start=points[0].at if points else None,
                end=points[-1].at if points else None,
            ),
        )


class FixCollection(Model):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[FixFeature]

    @classmethod
    def of(cls, found: Sequence[UnitTrack]) -> FixCollection:
        return cls(
            features=[
                FixFeature(
                    geometry=PointGeometry(coordinates=_xy(p)),
                    properties=FixProperties(
                        unit_id=t.unit_id,
                        time=p.at,
                        speed_mps=p.speed_mps,
                        heading_deg=p.heading_deg,
                        accuracy_m=p.accuracy_m,
                        source=p.source,
                        jump=p.jump,
                    ),
                )
                for t in found
                for p in t.points
            ]
        )


class LineCollection(Model):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[LineFeature]

    @classmethod
    def lines(cls, found: Sequence[UnitTrack]) -> LineCollection:
        return cls(features=[LineFeature.of(t.unit_id, t.line) for t in found])

    @classmethod
    def simplified(cls, found: Sequence[UnitTrack]) -> LineCollection:
        return cls(features=[LineFeature.of(t.unit_id, t.simplified) for t in found])


class UnitTrackOut(Model):
    """One unit's track over ``since <= time < until``."""

    unit_id: str
    since: datetime
    until: datetime
    tolerance_m: float
    count: int
    points: FixCollection
    lines: LineCollection
    simplified: LineCollection

    @classmethod
    def of(cls, found: UnitPlayback) -> UnitTrackOut:
        t = [found.track]
        return cls(
            unit_id=found.track.unit_id,
            since=found.window.since,
            until=found.window.until,
            tolerance_m=found.tolerance_m,
            count=len(found.track.points),
            points=FixCollection.of(t),
            lines=LineCollection.lines(t),
            simplified=LineCollection.simplified(t),
        )


class WorkedOut(Model):
    """A unit's time on the incident (``until`` null: still assigned)."""

    unit_id: str
    since: datetime
    until: datetime | None


class IncidentTracksOut(Model):
    """Every unit's track while it was assigned to the incident."""

    incident_id: int
    tolerance_m: float
    units: list[WorkedOut]
    count: int
    points: FixCollection
    lines: LineCollection
    simplified: LineCollection

    @classmethod
    def of(cls, found: IncidentPlayback) -> IncidentTracksOut:
        return cls(
            incident_id=found.incident_id,
            tolerance_m=found.tolerance_m,
            units=[WorkedOut.model_validate(w) for w in found.worked],
            count=sum(len(t.points) for t in found.tracks),
            points=FixCollection.of(found.tracks),
            lines=LineCollection.lines(found.tracks),
            simplified=LineCollection.simplified(found.tracks),
        )
