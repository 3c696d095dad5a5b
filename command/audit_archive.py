"""Retention and export of the audit log: archiving the oldest sealed rows, and exporting rows
as JSON lines or syslog messages for a SIEM.

Rows are kept at least ``CAD_AUDIT_RETENTION_DAYS`` (a year and a day by default, never less).
Archiving writes the oldest whole run of sealed rows past retention to a JSON-lines file (the
rows as they are stored, then a trailer with the run's last hash under the chain key), checkpoints
that archive outside the database, and only then removes the rows, as the owner, recording in
``audit_chain`` where the chain now starts. ``verify`` then starts there, and a removal that no
checkpoint records is reported as tampering. ``verify_file`` checks an archive on its own.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command import audit
from command.audit_checkpoints import SYSLOG_FACILITY_AUTHPRIV, Checkpoints
from command.audit_keys import ChainKey
from command.errors import Conflict
from command.tables import audit_chain, audit_log

SYSLOG_INFO = 6
_PAGE = 5000


@dataclass(frozen=True)
class Archived:
    rows: int
    first: int
    last: int
    path: Path | None


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


async def sealed_rows(
    conn: AsyncConnection, after: int, upto: int | None
) -> AsyncIterator[dict[str, Any]]:
    """Sealed rows after ``after`` (up to ``upto``), in chain order, a page at a time."""
    while True:
        query = select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq)
        if upto is not None:
            query = query.where(audit_log.c.seq <= upto)
        rows = [dict(r) for r in (await conn.execute(query.limit(_PAGE))).mappings()]
        if not rows:
            return
        for row in rows:
            yield row
        after = rows[-1]["seq"]


async def archive(
    admin: AsyncEngine,
    key: ChainKey,
    checkpoints: Checkpoints,
    out_dir: Path,
    *,
    retention: timedelta,
    now: datetime,
    before: datetime | None = None,
) -> Archived:
    """Archive the sealed rows older than ``retention`` (and ``before``), oldest first."""
    cutoff = now - retention if before is None else min(now - retention, before)
    async with admin.connect() as conn:
        report = await audit.verify(conn, key, checkpoints)
        if report.breaks:
            raise Conflict(
                "the audit chain does not verify: it is not archived until that is explained",
                code="audit.archive_broken_chain",
                problems=report.breaks[:10],
            )
        state = await audit.chain_state(conn)
        young = await conn.scalar(
            select(func.min(audit_log.c.seq)).where(
                audit_log.c.seq.is_not(None), audit_log.c.at >= cutoff
            )
        )
        upto = (young - 1) if young is not None else report.head_seq
        await conn.rollback()
        if upto <= state.archived_upto:
            return Archived(0, state.archived_upto + 1, state.archived_upto, None)
        first = state.archived_upto + 1
        path = _archive_path(out_dir, f"audit-{state.chain}-{first:012d}-{upto:012d}.jsonl")
        tmp = path.with_suffix(".tmp")
        rows, last_hash = 0, state.archived_hash
        with tmp.open("w") as out:
            async for row in sealed_rows(conn, state.archived_upto, upto):
                out.write(json.dumps(_plain(row), ensure_ascii=False, sort_keys=True) + "\n")
                rows, last_hash = rows + 1, row["hash"]
            trailer = {
                "chain": state.chain,
                "first": first,
                "last": upto,
                "keyed_from": state.keyed_from,
                "prev_hash": state.archived_hash,
                "last_hash": last_hash,
                "rows": rows,
            }
            body = json.dumps(trailer, sort_keys=True, separators=(",", ":"))
            out.write(json.dumps({"archive": trailer, "mac": key.mac(body)}) + "\n")
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
        await conn.rollback()
        # First outside the database, then in it: a crash between leaves an archive that the
        # checkpoint allows but that has not happened, never a removal that nothing records.
        checkpoints.write(state.chain, report.head_seq, report.head, state.keyed_from, upto)
        async with conn.begin():
            # Only the owner can: the append-only trigger is bypassed for this transaction.
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(
                audit_log.delete().where(
                    audit_log.c.seq > state.archived_upto, audit_log.c.seq <= upto
                )
            )
            await conn.execute(
                update(audit_chain).values(archived_upto=upto, archived_hash=last_hash)
            )
            await conn.execute(text("SET LOCAL session_replication_role = origin"))
            await audit.record(
                conn,
                actor="system:archive",
                action="audit.archive",
                object_type="audit_log",
                object_id=f"{first}-{upto}",
                source="cli",
                result="ok",
                detail={"rows": rows, "file": path.name, "last_hash": last_hash},
            )
        return Archived(rows, first, upto, path)


def _archive_path(out_dir: Path, name: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir / name


def verify_file(path: Path, key: ChainKey) -> list[str]:
    """Problems with an archive file: rows that do not chain, or a trailer that does not hold."""
    problems: list[str] = []
    lines = path.read_text().splitlines()
    if not lines:
        return [f"{path.name} is empty"]
    try:
        last = json.loads(lines[-1])
        trailer, mac = last["archive"], last["mac"]
    except (ValueError, KeyError, TypeError):
        return [f"{path.name} has no archive trailer"]
    if mac != key.mac(json.dumps(trailer, sort_keys=True, separators=(",", ":"))):
        problems.append(f"{path.name}: the trailer was forged or changed")
    prev, expected, rows = trailer["prev_hash"], trailer["first"], 0
    for number, raw in enumerate(lines[:-1], 1):
        row = json.loads(raw)
        row["at"] = datetime.fromisoformat(row["at"])
        keyed_from = trailer["keyed_from"]
        keyed = key if keyed_from is not None and row["seq"] >= keyed_from else None
        if row["seq"] != expected or row["prev_hash"] != prev:
            problems.append(f"{path.name} line {number}: row {row['seq']} does not follow on")
        if audit.chain_digest(row, keyed) != row["hash"]:
            problems.append(f"{path.name} line {number}: row {row['seq']} was changed")
        prev, expected, rows = row["hash"], row["seq"] + 1, rows + 1
    if rows != trailer["rows"] or prev != trailer["last_hash"]:
        problems.append(f"{path.name}: rows were removed from the file")
    return problems


def syslog_line(row: Mapping[str, Any], host: str) -> str:
    """One audit row as an RFC 5424 message with the row in structured data."""
    pri = SYSLOG_FACILITY_AUTHPRIV * 8 + SYSLOG_INFO
    at = row["at"].isoformat().replace("+00:00", "Z")

    def param(value: object) -> str:
        return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")

    fields = {
        k: row[k]
        for k in ("seq", "actor", "action", "object_type", "object_id", "source", "result", "hash")
    }
    data = " ".join(f'{k}="{param(v)}"' for k, v in fields.items())
    detail = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
    return f"<{pri}>1 {at} {host} cad-audit - {row['action']} [cad@32473 {data}] {detail}"


async def export(conn: AsyncConnection, after: int, fmt: str) -> AsyncIterator[str]:
    """Sealed rows after ``after`` as JSON lines or syslog messages (one per line)."""
    host = socket.gethostname()
    async for row in sealed_rows(conn, after, None):
        if fmt == "syslog":
            yield syslog_line(row, host)
        else:
            yield json.dumps(_plain(row), ensure_ascii=False, sort_keys=True)
