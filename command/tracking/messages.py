"""The console tracking protocol's messages (``docs/protocols/console-tracking.md``).

Console to server: ``subscribe`` (a viewport and/or units) and ``unsubscribe``. Server to
console: ``snapshot`` (the current picture, answering a subscribe), ``positions`` (a batch of
changed markers) and ``error`` (naming the field; the connection stays open).

A position's wire form is encoded once per fix (``encode_position``) and joined into every
console's batch as it is, so the cost of a batch does not grow with the work of encoding.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from command.tracking.fanout import BBox, Interest, Marker
from dispatch.avl.fixes import Fix

MAX_UNITS = 10_000


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Subscribe(_Message):
    """Watch a viewport ``[west, south, east, north]`` (WGS84) and/or units; with neither,
    every unit. Replaces the previous subscription; answered with a snapshot."""

    type: Literal["subscribe"]
    bbox: tuple[
        Annotated[float, Field(ge=-180, le=180)],
        Annotated[float, Field(ge=-90, le=90)],
        Annotated[float, Field(ge=-180, le=180)],
        Annotated[float, Field(ge=-90, le=90)],
    ] | None = None
    units: Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(
        max_length=MAX_UNITS
    )] | None = None

    @field_validator("bbox")
    @classmethod
    def _ordered(cls, bbox: tuple[float, float, float, float] | None) -> Any:
        if bbox is not None:
            west, south, east, north = bbox
            if west > east or south > north:
                raise ValueError("bbox must be [west, south, east, north] with west <= east "
                                 "and south <= north")
        return bbox

    def interest(self) -> Interest:
        return Interest(
            bbox=None if self.bbox is None else BBox(*self.bbox),
            units=None if self.units is None else frozenset(self.units),
        )


class Unsubscribe(_Message):
    """Stop receiving positions (the connection stays open)."""

    type: Literal["unsubscribe"]


ConsoleMessage = Annotated[Subscribe | Unsubscribe, Field(discriminator="type")]
CONSOLE_MESSAGE: TypeAdapter[Subscribe | Unsubscribe] = TypeAdapter(ConsoleMessage)


class PositionOut(BaseModel):
    """A unit's marker: WGS84, the device's time, and what the device said of its motion."""

    unit_id: str
    lon: float
    lat: float
    time: str = Field(description="device time, ISO 8601 with offset")
    received: str = Field(description="when the server took the position in, ISO 8601")
    speed: float | None = Field(description="metres per second")
    heading: float | None = Field(description="degrees from north, clockwise")
    accuracy: float | None = Field(description="metres")
    source: str


class Snapshot(BaseModel):
    type: Literal["snapshot"] = "snapshot"
    positions: list[PositionOut]


class Positions(BaseModel):
    type: Literal["positions"] = "positions"
    positions: list[PositionOut]


class ErrorFrame(BaseModel):
    type: Literal["error"] = "error"
    code: str
    message: str
    field: str
    params: dict[str, Any]


ServerFrame = Annotated[Snapshot | Positions | ErrorFrame, Field(discriminator="type")]
SERVER_FRAME: TypeAdapter[Snapshot | Positions | ErrorFrame] = TypeAdapter(ServerFrame)


def encode_position(fix: Fix) -> str:
    """The JSON of one marker (``PositionOut``), built by hand: it is the hot path."""
    return json.dumps(
        {
            "unit_id": fix.unit_id,
            "lon": round(fix.lon, 7),
            "lat": round(fix.lat, 7),
            "time": fix.device_time.isoformat(),
            "received": fix.received_at.isoformat(),
            "speed": fix.speed_mps,
            "heading": fix.heading_deg,
            "accuracy": fix.accuracy_m,
            "source": fix.source,
        },
        separators=(",", ":"),
    )


def batch_frame(kind: Literal["snapshot", "positions"], markers: list[Marker]) -> str:
    return f'{{"type":"{kind}","positions":[{",".join(m.wire for m in markers)}]}}'
