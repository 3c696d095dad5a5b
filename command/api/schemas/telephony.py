"""Call-centre bodies: seats, calls with their history and recordings, actions, statistics,
text and alarm intake, pushed caller locations, and the link's health."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from command.api.schemas.common import Model

Interface = Annotated[str, Field(min_length=3, max_length=100, examples=["Local/1001@agents"])]
Number = Annotated[str, Field(min_length=2, max_length=32, pattern=r"^\+?[0-9]{2,20}$")]

# ---------------------------------------------------------------------- requests


class SignIn(BaseModel):
    interface: Interface
    name: str = Field(default="", max_length=80)
    queues: list[str] = Field(default_factory=list, max_length=20)
    paused: bool = False
    reason: str | None = Field(default=None, max_length=80)


class SeatRef(BaseModel):
    interface: Interface


class Pause(BaseModel):
    interface: Interface
    reason: str = Field(min_length=1, max_length=80, examples=["break", "paperwork"])


class Transfer(BaseModel):
    exten: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z*#+_.-]+$")
    context: str | None = Field(default=None, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")
    attended: bool = False


class Helper(BaseModel):
    helper: Interface


class Spy(BaseModel):
    supervisor: Interface
    mode: Literal["listen", "whisper", "barge"] = "listen"


class CallBack(BaseModel):
    interface: Interface
    number: Number
    call_id: str | None = Field(default=None, min_length=1, max_length=80)  # the call answered
    incident_id: int | None = Field(default=None, ge=1)


class Sms(BaseModel):
    sender: Number
    text: str = Field(min_length=1, max_length=2000)
    external_id: str | None = Field(default=None, min_length=1, max_length=120)
    lat: float | None = None
    lon: float | None = None


class Alarm(BaseModel):
    source: str = Field(min_length=1, max_length=120, examples=["fire-panel-17"])
    text: str = Field(min_length=1, max_length=2000)
    sender: str = Field(default="", max_length=32)
    external_id: str | None = Field(default=None, min_length=1, max_length=120)
    lat: float | None = None
    lon: float | None = None
    address: str | None = Field(default=None, max_length=300)
    payload: dict[str, Any] = Field(default_factory=dict)


class Location(BaseModel):
    number: Number
    lat: float
    lon: float
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    source: str = Field(default="device", min_length=1, max_length=60)


# ---------------------------------------------------------------------- answers


class TelephonyHealthOut(Model):
    status: str = Field(description="ok or degraded")
    reason: str
    since: datetime
    connected: bool
    live_calls: int
    resyncs: int
    overflows: int
    skipped: int
    role: str = Field(description="holder (runs the AMI bridge), standby or starting")
    held_in_memory: int = Field(description="call events not yet stored, in memory")
    held_in_spool: int = Field(description="call events not yet stored, in the spool file")
    warnings: list[str] = Field(description="what the Asterisk in use lacks (feature codes)")


class SeatOut(Model):
    interface: str
    name: str | None
    state: str | None
    queues: list[str] | None
    paused: bool | None
    pause_reason: str | None
    call: str | None
    ringing_call: str | None
    signed_in_at: datetime | None = None
    paused_at: datetime | None = None
    stale: bool = Field(default=False, description="from the database; the switch has not said")
    username: str | None


class SeatsOut(Model):
    seats: list[SeatOut]


class SeatSignedIn(Model):
    interface: str
    username: str


class SeatPaused(Model):
    interface: str
    paused: bool
    reason: str | None = None


class SeatSignedOut(Model):
    interface: str
    signed_out: bool


class CallOut(Model):
    id: str
    kind: str = Field(description="voice, sms or alarm")
    state: str
    queue: str
    number: str | None
    name: str | None
    seat: str | None
    channel: str | None
    linkedid: str | None
    agent_channel: str | None
    position: int | None
    queued_at: datetime
    offered_at: datetime | None
    answered_at: datetime | None
    completed_at: datetime | None
    abandoned_at: datetime | None
    transferred_at: datetime | None
    ended_at: datetime | None
    hold_time: float | None
    talk_time: float | None
    ring_time: float | None
    hangup_cause: int | None
    complete_reason: str | None
    transfer_target: str | None
    recovered: bool


class LiveCallOut(CallOut):
    location: list[float | None] | None = Field(
        default=None, description="lat, lon, accuracy (m) from the channel"
    )


class LiveCallsOut(Model):
    calls: list[LiveCallOut]


class CallStepOut(Model):
    id: int
    call_id: str
    from_state: str | None
    to_state: str
    at: datetime
    seat: str | None
    detail: dict[str, Any]


class RecordingOut(Model):
    id: int
    call_id: str
    file: str
    started_at: datetime
    stopped_at: datetime | None
    started_by: str


class ReportOut(Model):
    id: int
    kind: str
    call_id: str
    external_id: str | None
    sender: str
    body: str
    source: str | None
    lat: float | None
    lon: float | None
    address: str | None
    payload: dict[str, Any]
    received_at: datetime
    received_by: str


class CallDetailOut(CallOut):
    updated_at: datetime
    transitions: list[CallStepOut]
    recordings: list[RecordingOut]
    report: ReportOut | None


class TransferOut(Model):
    call_id: str
    to: str
    attended: bool


class HelperOut(Model):
    call_id: str
    helper: str
    mode: Literal["consult", "conference"]


class SpyOut(Model):
    call_id: str
    supervisor: str
    mode: str


class GrabbedOut(Model):
    call_id: str
    grabbed_by: str


class HungUpOut(Model):
    call_id: str
    hangup: bool


class CallBackOut(Model):
    interface: str
    number: str
    action_id: str
    call_id: str  # the outbound call, tracked like any other


class RecordingStartedOut(Model):
    id: int
    call_id: str
    file: str
    started_at: datetime


class RecordingStoppedOut(Model):
    call_id: str
    stopped: int = Field(description="recordings stopped")


class FiguresOut(Model):
    offered: int
    answered: int
    abandoned: int
    answer_avg_s: float | None
    answer_p90_s: float | None
    talk_total_s: float
    talk_avg_s: float | None
    pause_total_s: float
    pause_by_reason_s: dict[str, float]


class StatisticsOut(Model):
    since: datetime
    until: datetime
    queues: dict[str, FiguresOut]
    seats: dict[str, FiguresOut]


class IntakeOut(Model):
    call_id: str
    duplicate: bool = Field(description="the same external_id was taken in before")
    offered_to: str | None


class ReportAccepted(Model):
    call_id: str
    accepted_by: str


class ReportCompleted(Model):
    call_id: str
    completed: bool


class LocationOut(Model):
    id: int
    number: str
