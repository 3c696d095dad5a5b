"""Bodies every area shares: the error answer, a point, a stable reason."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    """A response body: built from our dataclasses by attribute."""

    model_config = ConfigDict(from_attributes=True)


class ErrorOut(Model):
    """Every 4xx/5xx answer: a stable code, its parameters, and an English message."""

    code: str = Field(examples=["incident.not_open"])
    message: str
    params: dict[str, Any] = Field(default_factory=dict)


class PointOut(Model):
    lon: float
    lat: float


class Reason(Model):
    """Why the server decided something: a stable code with its parameters, and English text."""

    code: str
    params: dict[str, Any] = Field(default_factory=dict)
    text: str
