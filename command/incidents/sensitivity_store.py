"""SQL adapter for sensitivity markings: read one, read those of a list, write, lift; and which
of the user names a marking names exist.

Every function takes the caller's ``AsyncConnection``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from command.incidents.sensitivity import Marking, Reason
from command.incidents.tables import sensitivity
from command.tables import users


def _marking(r: Row[Any]) -> Marking:
    return Marking(
        r.incident_id,
        Reason(r.reason),
        frozenset(r.roles),
        frozenset(r.users),
        r.marked_by,
        r.marked_at,
    )


async def get(conn: AsyncConnection, incident_id: int) -> Marking | None:
    row = (
        await conn.execute(select(sensitivity).where(sensitivity.c.incident_id == incident_id))
    ).first()
    return None if row is None else _marking(row)


async def of(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, Marking]:
    """The markings of those of ``ids`` that are marked."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await conn.execute(select(sensitivity).where(sensitivity.c.incident_id.in_(wanted)))
    return {r.incident_id: _marking(r) for r in rows}


async def every(conn: AsyncConnection) -> list[Marking]:
    return [_marking(r) for r in await conn.execute(select(sensitivity))]


async def put(conn: AsyncConnection, marking: Marking) -> None:
    values = {
        "incident_id": marking.incident_id,
        "reason": marking.reason.value,
        "roles": sorted(marking.roles),
        "users": sorted(marking.users),
        "marked_by": marking.marked_by,
        "marked_at": marking.marked_at,
    }
    query = pg_insert(sensitivity).values(values)
    await conn.execute(
        query.on_conflict_do_update(
            index_elements=[sensitivity.c.incident_id],
            set_={k: query.excluded[k] for k in values if k != "incident_id"},
        )
    )


async def lift(conn: AsyncConnection, incident_id: int) -> bool:
    """Remove the marking; False when there was none."""
    result = await conn.execute(delete(sensitivity).where(sensitivity.c.incident_id == incident_id))
    return bool(result.rowcount)


async def existing_users(conn: AsyncConnection, names: Iterable[str]) -> set[str]:
    wanted = sorted(set(names))
    if not wanted:
        return set()
    rows = await conn.execute(select(users.c.username).where(users.c.username.in_(wanted)))
    return {r.username for r in rows}
