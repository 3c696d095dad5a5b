"""Bodies of the tracker routes: an OsmAnd report taken, and device bindings."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from command.api.schemas.common import Model


class OsmAndOut(Model):
    """A position taken from a tracker (OsmAnd apps read only the status)."""

    device_id: str
    unit_id: str
    lon: float
    lat: float
    device_time: datetime
    jump: bool = Field(description="flagged as an impossible move: kept, but not the marker")


class BindingIn(Model):
    unit_id: str = Field(min_length=1, max_length=64)


class BindingOut(Model):
    device_id: str
    unit_id: str
    bound_by: str
    bound_at: datetime


class BindingsOut(Model):
    bindings: list[BindingOut]
