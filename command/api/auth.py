"""Sign in and out, who am I; users, their roles and device tokens for administrators; the
audit check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from command.api.deps import (
    ContainerDep,
    audit_source,
    client_address,
    origin_of,
    require_roles,
)
from command.api.schemas.auth import (
    AuditCheckOut,
    DeviceIn,
    DeviceOut,
    DeviceTokenOut,
    LoginIn,
    LoginOut,
    MeOut,
    PasswordChangeIn,
    PasswordResetIn,
    RecoveryCodesOut,
    RolesIn,
    RolesOut,
    TotpConfirmIn,
    TotpEnrolmentOut,
    UserCreatedOut,
    UserIn,
    UserOut,
)
from command.auth.roles import Role
from command.auth.service import Principal
from command.auth.signin import PASSWORD_CHANGE, TOTP_ENROLMENT, limit_refusal

router = APIRouter(prefix="/api/v1", tags=["auth"])

AnyRole = Annotated[Principal, Depends(require_roles(*Role))]
# Sessions limited to one step may still take it, sign out and ask who they are.
AnyStep = frozenset({PASSWORD_CHANGE, TOTP_ENROLMENT})
AnySession = Annotated[Principal, Depends(require_roles(*Role, limited_ok=AnyStep))]
Enrolling = Annotated[
    Principal, Depends(require_roles(*Role, limited_ok=frozenset({TOTP_ENROLMENT})))
]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Supervisor = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]


@router.post("/auth/login")
async def login(body: LoginIn, request: Request, c: ContainerDep) -> LoginOut:
    session = await c.accounts.login(
        body.username, body.password, client_address(request), body.totp
    )
    step = session.principal.limited_to
    limit = None if step is None else limit_refusal(step)
    return LoginOut(
        token=session.token,
        username=session.principal.name,
        roles=sorted(session.principal.roles),
        idle_minutes=c.settings.session_idle_minutes,
        limited_to=None if limit is None else limit.code,
        notice=None if limit is None else limit.message,
    )


@router.post("/auth/logout", status_code=204)
async def logout(principal: AnySession, c: ContainerDep) -> None:
    await c.accounts.logout(principal)


@router.post("/auth/password", status_code=204)
async def change_password(
    body: PasswordChangeIn, principal: AnySession, request: Request, c: ContainerDep
) -> None:
    """Change one's own password; one's other sessions end."""
    await c.accounts.change_password(principal, body.current, body.new, audit_source(request))


@router.post("/auth/totp/enrol")
async def totp_enrol(principal: Enrolling, request: Request, c: ContainerDep) -> TotpEnrolmentOut:
    enrolment = await c.accounts.totp_begin(principal, audit_source(request))
    return TotpEnrolmentOut(secret=enrolment.secret, uri=enrolment.uri)


@router.post("/auth/totp/confirm")
async def totp_confirm(
    body: TotpConfirmIn, principal: Enrolling, request: Request, c: ContainerDep
) -> RecoveryCodesOut:
    codes = await c.accounts.totp_confirm(principal, body.code, audit_source(request))
    return RecoveryCodesOut(recovery_codes=codes)


@router.get("/auth/me")
async def me(principal: AnySession, c: ContainerDep) -> MeOut:
    return MeOut(
        kind=principal.kind,
        name=principal.name,
        roles=sorted(principal.roles),
        command_level=principal.command_level,
        region=c.settings.region,
        limited_to=None
        if principal.limited_to is None
        else limit_refusal(principal.limited_to).code,
    )


@router.get("/users")
async def list_users(_: Supervisor, c: ContainerDep) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in await c.accounts.users()]


@router.post("/users", status_code=201)
async def add_user(
    body: UserIn, principal: Admin, request: Request, c: ContainerDep
) -> UserCreatedOut:
    user_id = await c.accounts.add_user(
        body.username,
        body.password,
        [r.value for r in body.roles],
        body.display_name,
        body.language,
        body.command_level,
        origin_of(request, principal),
    )
    return UserCreatedOut(id=user_id, username=body.username, command_level=body.command_level)


@router.post("/users/{username}/disable", status_code=204)
async def disable_user(username: str, principal: Admin, request: Request, c: ContainerDep) -> None:
    await c.accounts.set_disabled(username, True, origin_of(request, principal))


@router.post("/users/{username}/enable", status_code=204)
async def enable_user(username: str, principal: Admin, request: Request, c: ContainerDep) -> None:
    await c.accounts.set_disabled(username, False, origin_of(request, principal))


@router.put("/users/{username}/roles")
async def set_roles(
    username: str, body: RolesIn, principal: Admin, request: Request, c: ContainerDep
) -> RolesOut:
    roles = await c.accounts.set_roles(
        username, [r.value for r in body.roles], origin_of(request, principal)
    )
    return RolesOut(username=username, roles=roles)
@router.post("/users/{username}/unlock", status_code=204)
async def unlock_user(
    username: str, principal: Supervisor, request: Request, c: ContainerDep
) -> None:
    """Clear the account's failed sign-ins from every address."""
    await c.accounts.unlock(username, origin_of(request, principal))


@router.post("/users/{username}/password", status_code=204)
async def reset_password(
    username: str, body: PasswordResetIn, principal: Admin, request: Request, c: ContainerDep
) -> None:
    """Set a new password that the user must change at the next sign-in."""
    await c.accounts.reset_password(username, body.password, origin_of(request, principal))


@router.post("/devices", status_code=201)
async def add_device(
    body: DeviceIn, principal: Admin, request: Request, c: ContainerDep
) -> DeviceOut:
    issued = await c.accounts.add_device(
        body.device, [r.value for r in body.roles], origin_of(request, principal)
    )
    return DeviceOut(
        device=issued.row.device,
        token=issued.token,
        id=issued.row.id,
        roles=issued.row.roles,
        expires_at=issued.row.expires_at,
    )


@router.get("/devices")
async def list_devices(_: Admin, c: ContainerDep) -> list[DeviceTokenOut]:
    return [DeviceTokenOut.model_validate(d) for d in await c.accounts.devices()]


@router.delete("/devices/{token_id}")
async def revoke_device(
    token_id: int, principal: Admin, request: Request, c: ContainerDep
) -> DeviceTokenOut:
    revoked = await c.accounts.revoke_device(token_id, origin_of(request, principal))
    return DeviceTokenOut.model_validate(revoked)


@router.get("/audit/verify")
async def verify_audit(_: Supervisor, c: ContainerDep) -> AuditCheckOut:
    report = await c.audit_trail.verify()
    return AuditCheckOut(ok=report.ok, rows=report.rows, head=report.head, problems=report.problems)
