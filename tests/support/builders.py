"""Builders for test data: users, tokens, audit rows."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from command.auth import service
from tests.support.log_secrets import KNOWN

PASSWORD = "correct horse battery"


async def user(engine: AsyncEngine, username: str, roles: str, password: str = PASSWORD) -> int:
    KNOWN.add(password)
    async with engine.begin() as conn:
        return await service.create_user(conn, username, password, roles)


async def device(
    engine: AsyncEngine,
    name: str,
    roles: str = "field_unit",
    valid_for: timedelta = timedelta(days=365),
) -> str:
    async with engine.begin() as conn:
        token = await service.create_device_token(conn, name, roles, valid_for=valid_for)
    KNOWN.add(token)
    return token


async def signed_in(
    http: httpx.AsyncClient, engine: AsyncEngine, username: str, roles: str
) -> dict[str, str]:
    """Create the user, sign in over HTTP, return the Authorization header."""
    await user(engine, username, roles)
    response = await http.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    response.raise_for_status()
    KNOWN.add(response.json()["token"])
    return {"Authorization": f"Bearer {response.json()['token']}"}
