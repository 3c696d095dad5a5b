"""Sensitivity bodies: a marking as a supervisor sets it, and as the API returns it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from command.api.schemas.common import Model
from command.incidents.sensitivity import MAX_NAMED, Marking


class SensitivityIn(BaseModel):
    sensitive: bool = Field(description="false lifts the marking (the rest is then ignored)")
    reason: str = Field(
        default="",
        max_length=50,
        description="vip, domestic_violence, officer_involved or other",
        examples=["domestic_violence"],
    )
    roles: list[str] = Field(
        default_factory=list, max_length=MAX_NAMED, description="roles that may read it"
    )
    users: list[str] = Field(
        default_factory=list, max_length=MAX_NAMED, description="user names that may read it"
    )


class SensitivityOut(Model):
    incident_id: int
    sensitive: bool
    reason: str | None
    roles: list[str]
    users: list[str]
    marked_by: str | None
    marked_at: datetime | None

    @classmethod
    def of(cls, incident_id: int, marking: Marking | None) -> SensitivityOut:
        if marking is None:
            return cls(
                incident_id=incident_id,
                sensitive=False,
                reason=None,
                roles=[],
                users=[],
                marked_by=None,
                marked_at=None,
            )
        return cls(
            incident_id=incident_id,
            sensitive=True,
            reason=marking.reason.value,
            roles=sorted(marking.roles),
            users=sorted(marking.users),
            marked_by=marking.marked_by,
            marked_at=marking.marked_at,
        )
