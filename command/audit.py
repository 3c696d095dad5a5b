"""The audit log: who did what to which object, when, from where, with what result.

Append-only and tamper-evident, without a queue of writers. ``record`` inserts the row in the
caller's transaction with no lock, with a hash of what it says (``content_hash``). After commit
the sealer gives committed rows their place in the chain, in the order it finds them, one batch
at a time across processes (a transaction-scoped advisory lock per batch, as the event log is
numbered): a consecutive ``seq``, the previous row's hash as ``prev_hash``, and ``hash`` over
the row, its place and that link. The table's trigger allows that one change and no other.

``verify`` walks the chain in ``seq`` order and finds an edited row (its hashes no longer
match), a deleted row (a gap, and a broken link) and reordering (a broken link). A row not yet
sealed could be deleted without a trace, so rows that wait for their seal longer than
``max_unsealed`` are reported too: the sealer must not stop unnoticed. Deleting the newest rows
leaves a shorter valid chain: compare the head hash that ``verify`` prints with one kept
elsewhere.

Rows chained under the earlier writers' lock have no content hash; their old id is their
``seq`` and their hash is the same chain hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from command.tables import audit_log

log = logging.getLogger(__name__)

GENESIS = "0" * 64
BATCH = 1000
MAX_UNSEALED = timedelta(seconds=60)
_LOCK_KEY = 0x0CADA0D1  # the sealing turn, one batch at a time across processes
_IDLE_TIMEOUT = "10s"  # a sealer stuck inside its transaction must not hold the turn for ever
_CONTENT = ("at", "actor", "action", "object_type", "object_id", "source", "result", "detail")

_SEAL = text(
    "UPDATE audit_log a SET seq = s.seq, prev_hash = s.prev_hash, hash = s.hash "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[]), CAST(:prevs AS text[]), "
    "CAST(:hashes AS text[])) AS s(id, seq, prev_hash, hash) WHERE a.id = s.id"
)


def _canonical(body: Sequence[Any]) -> str:
    text_ = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text_.encode()).hexdigest()


# The two digests: what a writer vouches for, and what the sealer chains.


def content_digest(row: Mapping[str, Any]) -> str:
    return _canonical([row["at"].isoformat(), *(row[c] for c in _CONTENT[1:])])


def chain_digest(row: Mapping[str, Any]) -> str:
    return _canonical(
        [row["seq"], row["at"].isoformat(), *(row[c] for c in _CONTENT[1:]), row["prev_hash"]]
    )


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
    """Append one row in the caller's transaction; returns its id (sealed after commit)."""
    row: dict[str, Any] = {
        "at": datetime.now(UTC),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "source": source,
        "result": result,
        "detail": json.loads(json.dumps(dict(detail or {}), default=str)),
    }
    row["content_hash"] = content_digest(row)
    return int(
        (
            await conn.execute(audit_log.insert().values(**row).returning(audit_log.c.id))
        ).scalar_one()
    )


async def seal_batch(conn: AsyncConnection, *, wait: bool) -> int | None:
    """Seal up to ``BATCH`` committed rows in the caller's transaction (commit it next).

    Returns how many, or None when another sealer has the turn and ``wait`` is false.
    """
    lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    turn = await conn.execute(
        text(
            "SELECT set_config('idle_in_transaction_session_timeout', :idle, true), "
            f"{lock}(:key) AS ok"
        ),
        {"idle": _IDLE_TIMEOUT, "key": _LOCK_KEY},
    )
    if not wait and not turn.one().ok:
        return None
    # Read after taking the turn: the previous batch has committed.
    head = (
        await conn.execute(
            select(audit_log.c.seq, audit_log.c.hash)
            .where(audit_log.c.seq.is_not(None))
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        )
    ).first()
    seq, prev_hash = (head.seq, head.hash) if head else (0, GENESIS)
    rows = (
        (
            await conn.execute(
                select(audit_log)
                .where(audit_log.c.seq.is_(None))
                .order_by(audit_log.c.id)
                .limit(BATCH)
            )
        )
        .mappings()
        .all()
    )
    if not rows:
        return 0
    ids, seqs, prevs, hashes = [], [], [], []
    for row in rows:
        seq += 1
        sealed = {**row, "seq": seq, "prev_hash": prev_hash}
        prev_hash = chain_digest(sealed)
        ids.append(row["id"])
        seqs.append(seq)
        prevs.append(sealed["prev_hash"])
        hashes.append(prev_hash)
    await conn.execute(_SEAL, {"ids": ids, "seqs": seqs, "prevs": prevs, "hashes": hashes})
    return len(rows)


async def seal(conn: AsyncConnection, *, wait: bool = True) -> bool:
    """Seal every row committed so far, one transaction per batch on ``conn``, which must not
    be in a transaction. False when another sealer had the turn (only without ``wait``)."""
    while True:
        async with conn.begin():
            n = await seal_batch(conn, wait=wait)
        if n is None:
            return False
        if n < BATCH:
            return True


class Sealer:
    """Seals committed rows in the background, every ``interval`` seconds."""

    def __init__(self, engine: AsyncEngine, interval: float = 0.5) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-sealer")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                async with self._engine.connect() as conn:
                    waiting = await conn.scalar(
                        text("SELECT EXISTS (SELECT FROM audit_log WHERE seq IS NULL)")
                    )
                    await conn.rollback()
                    if waiting:
                        await seal(conn, wait=False)  # busy: the other process seals them
            except Exception:
                log.exception("could not seal the audit log; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._interval)


@dataclass
class Verification:
    """What ``verify`` found: breaks of the chain, and rows waiting too long for their seal."""

    rows: int = 0
    head: str = GENESIS
    unsealed: int = 0
    breaks: list[str] = field(default_factory=list)
    late: list[int] = field(default_factory=list)  # ids
    max_unsealed: timedelta = MAX_UNSEALED

    @property
    def late_problem(self) -> str | None:
        if not self.late:
            return None
        shown = ", ".join(str(i) for i in self.late[:10]) + (", ..." if len(self.late) > 10 else "")
        return (
            f"{len(self.late)} rows have waited more than {self.max_unsealed.total_seconds():g} s "
            f"for their seal (ids {shown}): is a sealer running?"
        )

    @property
    def problems(self) -> list[str]:
        late = self.late_problem
        return [*self.breaks, late] if late else list(self.breaks)

    @property
    def ok(self) -> bool:
        return not self.breaks and not self.late


def _changed(row: Mapping[str, Any]) -> bool:
    content = row["content_hash"]
    return content is not None and content != content_digest(row)


async def _pages(
    conn: AsyncConnection, column: Column[int], sealed: bool, batch: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """Sealed rows by ``seq``, or unsealed ones by ``id``, a page at a time."""
    after: int | None = None  # no lower bound: a number moved below 1 is found too
    which = audit_log.c.seq.is_not(None) if sealed else audit_log.c.seq.is_(None)
    while True:
        query = select(audit_log).where(which).order_by(column).limit(batch)
        if after is not None:
            query = query.where(column > after)
        rows = [dict(r) for r in (await conn.execute(query)).mappings()]
        if not rows:
            return
        yield rows
        after = rows[-1][column.name]


async def verify(
    conn: AsyncConnection,
    batch: int = 5000,
    *,
    max_unsealed: timedelta = MAX_UNSEALED,
    now: datetime | None = None,
) -> Verification:
    """Walk the whole chain and report every break, and rows waiting too long for their seal."""
    report = Verification(max_unsealed=max_unsealed)
    expected = 1
    prev_hash = GENESIS
    async for rows in _pages(conn, audit_log.c.seq, True, batch):
        for row in rows:
            if row["seq"] != expected:
                report.breaks.append(
                    f"rows {expected}..{row['seq'] - 1} are missing (deleted)"
                    if row["seq"] > expected
                    else f"row {row['seq']} is out of order"
                )
            if row["prev_hash"] != prev_hash:
                report.breaks.append(f"row {row['seq']} does not link to the row before it")
            if chain_digest(row) != row["hash"] or _changed(row):
                report.breaks.append(f"row {row['seq']} was changed after it was written")
            expected = max(expected, row["seq"] + 1)
            prev_hash = row["hash"]
            report.rows += 1
    report.head = prev_hash
    due = (now or datetime.now(UTC)) - max_unsealed
    async for rows in _pages(conn, audit_log.c.id, False, batch):
        report.unsealed += len(rows)
        report.late.extend(r["id"] for r in rows if r["at"] < due)
        report.breaks.extend(
            f"unsealed row with id {r['id']} was changed after it was written"
            for r in rows
            if r["content_hash"] is None or _changed(r)
        )
    return report
