"""SQL for the idempotency keys of terminal messages and for tracker bindings.

Positions have no key row: they are idempotent by their breadcrumb key (unit, device time).

A state-changing message's key is inserted in the transaction of its change, so the change and
its key commit together: a replay finds the key (and the answer given the first time) and
changes nothing. Keys older than the retention are pruned in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from command.tracking.tables import device_bindings, terminal_keys


async def answer_of(conn: AsyncConnection, device: str, key: str) -> dict[str, Any] | None:
    """The answer given to the message with this key, None when it was never taken."""
    found = await conn.scalar(
        select(terminal_keys.c.answer).where(
            terminal_keys.c.device == device, terminal_keys.c.key == key
        )
    )
    return None if found is None else dict(found)


async def claim(
    conn: AsyncConnection,
    device: str,
    key: str,
    kind: str,
    answer: dict[str, Any],
) -> bool:
    """Record the key with its answer; False when it was already there (a replay)."""
    row = await conn.execute(
        insert(terminal_keys)
        .values(device=device, key=key, kind=kind, answer=answer)
        .on_conflict_do_nothing()
        .returning(terminal_keys.c.key)
    )
    return row.first() is not None


async def prune(conn: AsyncConnection, before: datetime) -> int:
    result = await conn.execute(delete(terminal_keys).where(terminal_keys.c.created_at < before))
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class Binding:
    device_id: str
    unit_id: str
    bound_by: str
    bound_at: datetime


async def bind(conn: AsyncConnection, device_id: str, unit_id: str, actor: str) -> Binding:
    """Bind (or re-bind) a tracker to a unit."""
    stmt = insert(device_bindings).values(device_id=device_id, unit_id=unit_id, bound_by=actor)
    row = (
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[device_bindings.c.device_id],
                set_={"unit_id": unit_id, "bound_by": actor, "bound_at": stmt.excluded.bound_at},
            ).returning(*device_bindings.c)
        )
    ).one()
    return Binding(row.device_id, row.unit_id, row.bound_by, row.bound_at)


async def unbind(conn: AsyncConnection, device_id: str) -> Binding | None:
    row = (
        await conn.execute(
            delete(device_bindings)
            .where(device_bindings.c.device_id == device_id)
            .returning(*device_bindings.c)
        )
    ).first()
    return None if row is None else Binding(row.device_id, row.unit_id, row.bound_by, row.bound_at)


async def bindings(conn: AsyncConnection) -> Sequence[Binding]:
    rows = await conn.execute(select(device_bindings).order_by(device_bindings.c.device_id))
    return [Binding(r.device_id, r.unit_id, r.bound_by, r.bound_at) for r in rows]


async def unit_of(conn: AsyncConnection, device_id: str) -> str | None:
    found = await conn.scalar(
        select(device_bindings.c.unit_id).where(device_bindings.c.device_id == device_id)
    )
    return None if found is None else str(found)
