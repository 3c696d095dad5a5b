"""Sign in and out, who am I; users and device tokens for administrators."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from command import audit
from command.api.deps import ContainerDep, audit_source, client_address, require_roles
from command.auth import service
from command.auth.roles import Role
from command.auth.service import Principal
from command.tables import users

router = APIRouter(prefix="/api/v1", tags=["auth"])

AnyRole = Annotated[Principal, Depends(require_roles(*Role))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Supervisor = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class LoginOut(BaseModel):
    token: str
    username: str
    roles: list[str]
    idle_minutes: float


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=200)
    roles: list[Role] = Field(min_length=1)
    display_name: str | None = Field(default=None, max_length=100)
    language: str = Field(default="zh-CN", pattern="^(zh-CN|en)$")
    command_level: Literal["city", "district", "department"] | None = Field(
        default=None, description="where the user directs incidents; none is the top level"
    )


class DeviceIn(BaseModel):
    device: str = Field(min_length=1, max_length=64)
    roles: list[Role] = Field(default=[Role.FIELD_UNIT], min_length=1)


@router.post("/auth/login")
async def login(body: LoginIn, request: Request, container: ContainerDep) -> LoginOut:
    session = await service.login(
        container.engine,
        container.policy,
        body.username,
        body.password,
        client_address(request),
        container.clock(),
    )
    return LoginOut(
        token=session.token,
        username=session.principal.name,
        roles=sorted(session.principal.roles),
        idle_minutes=container.settings.session_idle_minutes,
    )


@router.post("/auth/logout", status_code=204)
async def logout(principal: AnyRole, container: ContainerDep) -> None:
    await service.logout(container.engine, principal)


@router.get("/auth/me")
async def me(principal: AnyRole, container: ContainerDep) -> dict[str, Any]:
    return {
        "kind": principal.kind,
        "name": principal.name,
        "roles": sorted(principal.roles),
        "command_level": principal.command_level,
        "region": container.settings.region,
    }


@router.get("/users")
async def list_users(_: Supervisor, container: ContainerDep) -> list[dict[str, Any]]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            select(
                users.c.username,
                users.c.display_name,
                users.c.roles,
                users.c.disabled,
                users.c.language,
                users.c.locked_until,
                users.c.command_level,
            ).order_by(users.c.username)
        )
        return [dict(r._mapping) for r in rows]


@router.post("/users", status_code=201)
async def add_user(
    body: UserIn, principal: Admin, request: Request, container: ContainerDep
) -> dict[str, Any]:
    async with container.engine.begin() as conn:
        user_id = await service.create_user(
            conn,
            body.username,
            body.password,
            [r.value for r in body.roles],
            body.display_name,
            body.language,
            body.command_level,
        )
        await audit.record(
            conn,
            actor=principal.actor,
            action="user.add",
            object_type="user",
            object_id=body.username,
            source=audit_source(request),
            result="ok",
            detail={"roles": sorted(body.roles), "command_level": body.command_level},
        )
    return {"id": user_id, "username": body.username, "command_level": body.command_level}


@router.post("/users/{username}/disable", status_code=204)
async def disable_user(
    username: str, principal: Admin, request: Request, container: ContainerDep
) -> None:
    async with container.engine.begin() as conn:
        await service.set_disabled(conn, username, True)
        await audit.record(
            conn,
            actor=principal.actor,
            action="user.disable",
            object_type="user",
            object_id=username,
            source=audit_source(request),
            result="ok",
        )


@router.post("/devices", status_code=201)
async def add_device(
    body: DeviceIn, principal: Admin, request: Request, container: ContainerDep
) -> dict[str, str]:
    async with container.engine.begin() as conn:
        token = await service.create_device_token(conn, body.device, [r.value for r in body.roles])
        await audit.record(
            conn,
            actor=principal.actor,
            action="device.add",
            object_type="device",
            object_id=body.device,
            source=audit_source(request),
            result="ok",
        )
    return {"device": body.device, "token": token}


@router.get("/audit/verify")
async def verify_audit(_: Supervisor, container: ContainerDep) -> dict[str, Any]:
    async with container.engine.connect() as conn:
        report = await audit.verify(conn)
    return {"ok": report.ok, "rows": report.rows, "head": report.head, "problems": report.problems}
