"""The audit log: who did what to which object, when, from where, with what result.

Append-only and tamper-evident: each row's hash covers its content and the previous row's
hash, and ids are consecutive, so ``verify`` finds an edited row (its hash no longer matches), a
deleted row (a gap, and a broken link) and reordering. Deleting the newest rows leaves a shorter
valid chain: compare the head hash that ``verify`` prints with one kept elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from command.tables import audit_log

GENESIS = "0" * 64
_LOCK_KEY = 0x0CADA0D1


def _digest(row: Mapping[str, Any]) -> str:
    body = [
        row["id"],
        row["at"].isoformat(),
        row["actor"],
        row["action"],
        row["object_type"],
        row["object_id"],
        row["source"],
        row["result"],
        row["detail"],
        row["prev_hash"],
    ]
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def record(
    conn: AsyncConnection,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    source: str,
    result: str,
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Append one row in the caller's transaction; returns its id."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    last = (
        await conn.execute(
            select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
        )
    ).first()
    row: dict[str, Any] = {
        "id": (last.id + 1) if last else 1,
        "at": datetime.now(UTC),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "source": source,
        "result": result,
        "detail": json.loads(json.dumps(dict(detail or {}), default=str)),
        "prev_hash": last.hash if last else GENESIS,
    }
    row["hash"] = _digest(row)
    await conn.execute(audit_log.insert().values(**row))
    return int(row["id"])


@dataclass
class Verification:
    rows: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify(conn: AsyncConnection, batch: int = 5000) -> Verification:
    """Walk the whole chain and report every break."""
    report = Verification()
    expected_id = 1
    prev_hash = GENESIS
    after = 0
    while True:
        rows = (
            (
                await conn.execute(
                    select(audit_log)
                    .where(audit_log.c.id > after)
                    .order_by(audit_log.c.id)
                    .limit(batch)
                )
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        for row in rows:
            if row["id"] != expected_id:
                report.problems.append(
                    f"rows {expected_id}..{row['id'] - 1} are missing (deleted)"
                    if row["id"] > expected_id
                    else f"row {row['id']} is out of order"
                )
            if row["prev_hash"] != prev_hash:
                report.problems.append(f"row {row['id']} does not link to the row before it")
            if _digest(dict(row)) != row["hash"]:
                report.problems.append(f"row {row['id']} was changed after it was written")
            expected_id = row["id"] + 1
            prev_hash = row["hash"]
            report.rows += 1
        after = rows[-1]["id"]
    report.head = prev_hash
    return report
