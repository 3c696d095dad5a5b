"""Account bodies: signing in, who am I, users and their roles, device tokens, the audit
chain's check."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from command.api.schemas.common import Model
from command.auth.roles import Role


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    totp: str | None = Field(
        default=None, max_length=40, description="the one-time code, or a recovery code"
    )


class LoginOut(Model):
    token: str
    username: str
    roles: list[str]
    idle_minutes: float
    limited_to: str | None = Field(
        default=None,
        description="auth.password_change_required or auth.totp_enrolment_required: this "
        "session may only take that step",
    )
    notice: str | None = Field(default=None, description="what to do first, in English")


class PasswordChangeIn(BaseModel):
    current: str = Field(min_length=1, max_length=200)
    new: str = Field(min_length=1, max_length=200)


class PasswordResetIn(BaseModel):
    password: str = Field(min_length=1, max_length=200)


class TotpEnrolmentOut(Model):
    secret: str = Field(description="base32, for typing into an authenticator app")
    uri: str = Field(description="otpauth:// URI (as text or a QR code)")


class TotpConfirmIn(BaseModel):
    code: str = Field(min_length=1, max_length=12)


class RecoveryCodesOut(Model):
    recovery_codes: list[str] = Field(description="each works once; shown only now")


class MeOut(Model):
    kind: str = Field(description="user or device")
    name: str
    roles: list[str]
    command_level: str | None
    region: str
    limited_to: str | None = Field(
        default=None, description="the one step this session may take (as at sign-in)"
    )


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=200)
    roles: list[Role] = Field(min_length=1)
    display_name: str | None = Field(default=None, max_length=100)
    language: str = Field(default="zh-CN", pattern="^(zh-CN|en)$")
    command_level: Literal["city", "district", "department"] | None = Field(
        default=None, description="where the user directs incidents; none is the top level"
    )


class UserOut(Model):
    username: str
    display_name: str
    roles: list[str]
    disabled: bool
    language: str
    locked_until: datetime | None
    command_level: str | None


class UserCreatedOut(Model):
    id: int
    username: str
    command_level: str | None


class DeviceIn(BaseModel):
    device: str = Field(min_length=1, max_length=64)
    roles: list[Role] = Field(default=[Role.FIELD_UNIT], min_length=1)


class DeviceOut(Model):
    device: str
    token: str = Field(description="shown once; only its digest is kept")
    id: int = Field(description="the token's id: to list and revoke it")
    roles: list[str]
    expires_at: datetime | None


class DeviceTokenOut(Model):
    """A device token as listed: never the token itself."""

    id: int
    device: str
    roles: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_seen_at: datetime
    revoked_at: datetime | None


class RolesIn(BaseModel):
    roles: list[Role] = Field(min_length=1, max_length=len(Role))


class RolesOut(Model):
    username: str
    roles: list[str]


class AuditCheckOut(Model):
    ok: bool
    rows: int
    head: str
    problems: list[str]
