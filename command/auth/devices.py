"""Device tokens as administrators see them: listed (never the token itself) and revoked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from command.auth.passwords import token_digest
from command.errors import Conflict, NotFound
from command.tables import tokens


@dataclass(frozen=True)
class DeviceToken:
    id: int
    device: str
    roles: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_seen_at: datetime
    revoked_at: datetime | None


_COLUMNS = (
    tokens.c.id,
    tokens.c.device,
    tokens.c.roles,
    tokens.c.created_at,
    tokens.c.expires_at,
    tokens.c.last_seen_at,
    tokens.c.revoked_at,
)


async def listed(conn: AsyncConnection) -> list[DeviceToken]:
    rows = await conn.execute(
        select(*_COLUMNS).where(tokens.c.kind == "device").order_by(tokens.c.device, tokens.c.id)
    )
    return [DeviceToken(**r._mapping) for r in rows]


async def issued(conn: AsyncConnection, token: str) -> DeviceToken:
    """The row of a token just issued."""
    row = (
        await conn.execute(select(*_COLUMNS).where(tokens.c.token_hash == token_digest(token)))
    ).one()
    return DeviceToken(**row._mapping)


async def revoke(conn: AsyncConnection, token_id: int) -> DeviceToken:
    """End the device token ``token_id``; the token as it now is."""
    row = (
        await conn.execute(
            select(*_COLUMNS)
            .where(tokens.c.id == token_id, tokens.c.kind == "device")
            .with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound(
            f"there is no device token {token_id}: `cad device tokens` lists them",
            code="device.unknown",
            token_id=token_id,
        )
    if row.revoked_at is not None:
        raise Conflict(
            f"device token {token_id} ({row.device}) was revoked already",
            code="device.revoked_already",
            token_id=token_id,
            device=row.device,
            revoked_at=row.revoked_at.isoformat(),
        )
    revoked = (
        await conn.execute(
            update(tokens)
            .where(tokens.c.id == token_id)
            .values(revoked_at=func.now())
            .returning(*_COLUMNS)
        )
    ).one()
    return DeviceToken(**revoked._mapping)
