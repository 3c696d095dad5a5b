"""The audit log: who did what to which object, when, from where, with what result.

Append-only and tamper-evident, without a queue of writers. ``record`` inserts the row in the
caller's transaction with no lock, with a hash of what it says (``content_hash``). After commit
the sealer gives committed rows their place in the chain, in the order it finds them, one batch
at a time across processes (a transaction-scoped advisory lock per batch, as the event log is
numbered): a consecutive ``seq``, the previous row's hash as ``prev_hash``, and ``hash`` over
the row, its place and that link. The table's trigger allows that one change and no other.

The chain hash is an HMAC under a key kept outside the database (``command.audit_keys``), so
not even the database's superuser can edit a row and recompute the chain after it. The server's
own role cannot edit, delete or truncate at all: it seals through ``audit_seal`` (a definer
function, see ``ops.db_roles``). After sealing, the head is checkpointed outside the database
(``command.audit_checkpoints``).

``verify`` walks the chain in ``seq`` order and finds an edited row (its hashes no longer
match), a deleted row (a gap, and a broken link), reordering (a broken link), a recomputed
chain (the keyed hashes do not match), and removed newest rows or a truncation (a checkpoint
names a row that is gone or different). A row not yet sealed could be deleted without a trace,
so rows that wait for their seal longer than ``max_unsealed`` are reported too: the sealer must
not stop unnoticed.

Rows chained by older releases (before ``audit_chain.keyed_from``) were hashed without a key;
rows chained under the earlier writers' lock have no content hash, their old id is their
``seq``. Archived rows (``command.audit_archive``) leave the table; the chain then starts after
``audit_chain.archived_upto``, linking to ``archived_hash``.
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

from command.audit_checkpoints import Checkpoints
from command.audit_keys import ChainKey
from command.tables import audit_chain, audit_log

log = logging.getLogger(__name__)

GENESIS = "0" * 64
BATCH = 1000
MAX_UNSEALED = timedelta(seconds=60)
_LOCK_KEY = 0x0CADA0D1  # the sealing turn, one batch at a time across processes
_IDLE_TIMEOUT = "10s"  # a sealer stuck inside its transaction must not hold the turn for ever
_CONTENT = ("at", "actor", "action", "object_type", "object_id", "source", "result", "detail")

_SEAL = text(
    "SELECT audit_seal(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[]), "
    "CAST(:prevs AS text[]), CAST(:hashes AS text[]))"
)
_KEYED_FROM = text("SELECT audit_chain_keyed_from(:first)")


def _serialised(body: Sequence[Any]) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _canonical(body: Sequence[Any]) -> str:
    return hashlib.sha256(_serialised(body).encode()).hexdigest()


# The two digests: what a writer vouches for, and what the sealer chains.


def content_digest(row: Mapping[str, Any]) -> str:
    return _canonical([row["at"].isoformat(), *(row[c] for c in _CONTENT[1:])])


def chain_digest(row: Mapping[str, Any], key: ChainKey | None) -> str:
    """The row's chain hash: keyed, or (``key`` None) as older releases chained it."""
    body = [row["seq"], row["at"].isoformat(), *(row[c] for c in _CONTENT[1:]), row["prev_hash"]]
    return _canonical(body) if key is None else key.mac(_serialised(body))


@dataclass(frozen=True)
class ChainState:
    """The one ``audit_chain`` row."""

    chain: str
    keyed_from: int | None
    archived_upto: int
    archived_hash: str


async def chain_state(conn: AsyncConnection) -> ChainState:
    row = (await conn.execute(select(audit_chain))).one()
    return ChainState(
        chain=str(row.chain),
        keyed_from=row.keyed_from,
        archived_upto=row.archived_upto,
        archived_hash=row.archived_hash,
    )


def _key_for(seq: int, keyed_from: int | None, key: ChainKey) -> ChainKey | None:
    return key if keyed_from is not None and seq >= keyed_from else None


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


async def seal_batch(conn: AsyncConnection, key: ChainKey, *, wait: bool) -> int | None:
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
    state = await chain_state(conn)
    seq, prev_hash = (head.seq, head.hash) if head else (state.archived_upto, state.archived_hash)
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
    keyed_from = state.keyed_from
    if keyed_from is None:  # the first keyed seal: every row from here on is keyed
        keyed_from = int(await conn.scalar(_KEYED_FROM, {"first": seq + 1}))
    ids, seqs, prevs, hashes = [], [], [], []
    for row in rows:
        seq += 1
        sealed = {**row, "seq": seq, "prev_hash": prev_hash}
        prev_hash = chain_digest(sealed, _key_for(seq, keyed_from, key))
        ids.append(row["id"])
        seqs.append(seq)
        prevs.append(sealed["prev_hash"])
        hashes.append(prev_hash)
    await conn.execute(_SEAL, {"ids": ids, "seqs": seqs, "prevs": prevs, "hashes": hashes})
    return len(rows)


async def seal(
    conn: AsyncConnection,
    key: ChainKey,
    checkpoints: Checkpoints | None = None,
    *,
    wait: bool = True,
) -> bool:
    """Seal every row committed so far, one transaction per batch on ``conn``, which must not
    be in a transaction, then checkpoint the head. False when another sealer had the turn
    (only without ``wait``)."""
    sealed = 0
    while True:
        async with conn.begin():
            n = await seal_batch(conn, key, wait=wait)
        if n is None:
            return False
        sealed += n
        if n < BATCH:
            break
    if checkpoints is not None and sealed:
        await checkpoint(conn, checkpoints)
    return True


async def checkpoint(conn: AsyncConnection, checkpoints: Checkpoints) -> None:
    """Write the chain's head outside the database (``conn`` not in a transaction)."""
    async with conn.begin():
        state = await chain_state(conn)
        head = (
            await conn.execute(
                select(audit_log.c.seq, audit_log.c.hash)
                .where(audit_log.c.seq.is_not(None))
                .order_by(audit_log.c.seq.desc())
                .limit(1)
            )
        ).first()
    seq, hash_ = (head.seq, head.hash) if head else (state.archived_upto, state.archived_hash)
    checkpoints.write(state.chain, seq, hash_, state.keyed_from, state.archived_upto)


class Sealer:
    """Seals committed rows in the background, every ``interval`` seconds, and checkpoints the
    head at most every ``checkpoint_every`` seconds."""

    def __init__(
        self,
        engine: AsyncEngine,
        key: ChainKey,
        checkpoints: Checkpoints | None = None,
        interval: float = 0.5,
        checkpoint_every: float = 1.0,
    ) -> None:
        self._engine = engine
        self._key = key
        self._checkpoints = checkpoints
        self._interval = interval
        self._checkpoint_every = checkpoint_every
        self._checkpointed_at = -float("inf")
        self._behind = False  # sealed since the last checkpoint
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
                    if waiting and await seal(conn, self._key, wait=False):
                        self._behind = True  # (busy: the other process seals and checkpoints)
                    now = asyncio.get_running_loop().time()
                    due = now - self._checkpointed_at >= self._checkpoint_every
                    if self._checkpoints is not None and self._behind and due:
                        await checkpoint(conn, self._checkpoints)
                        self._behind, self._checkpointed_at = False, now
            except Exception:
                log.exception("could not seal the audit log; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._interval)
        if self._checkpoints is not None and self._behind:
            try:
                async with self._engine.connect() as conn:
                    await checkpoint(conn, self._checkpoints)
            except Exception:
                log.exception("could not checkpoint the audit log on the way out")


@dataclass
class Verification:
    """What ``verify`` found: breaks of the chain, and rows waiting too long for their seal."""

    rows: int = 0
    head: str = GENESIS
    head_seq: int = 0
    checkpoints: int = 0
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
    key: ChainKey,
    checkpoints: Checkpoints | None = None,
    batch: int = 5000,
    *,
    max_unsealed: timedelta = MAX_UNSEALED,
    now: datetime | None = None,
) -> Verification:
    """Walk the whole chain and report every break, rows waiting too long for their seal, and
    each checkpoint the chain no longer agrees with."""
    report = Verification(max_unsealed=max_unsealed)
    state = await chain_state(conn)
    expected = state.archived_upto + 1
    prev_hash = state.archived_hash
    oldest_keyed: datetime | None = None
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
            row_key = _key_for(row["seq"], state.keyed_from, key)
            if chain_digest(row, row_key) != row["hash"] or _changed(row):
                report.breaks.append(f"row {row['seq']} was changed after it was written")
            if row_key is not None and oldest_keyed is None:
                oldest_keyed = row["at"]
            expected = max(expected, row["seq"] + 1)
            prev_hash = row["hash"]
            report.rows += 1
    report.head = prev_hash
    report.head_seq = expected - 1
    now = now or datetime.now(UTC)
    due = now - max_unsealed
    if checkpoints is not None:
        await _against_checkpoints(conn, checkpoints, state, report)
        if not report.checkpoints and oldest_keyed is not None and oldest_keyed < due:
            report.breaks.append(
                f"no checkpoint of this chain in {checkpoints.path(state.chain)}: removed newest "
                "rows or a truncation could not be told (was the file removed?)"
            )
    async for rows in _pages(conn, audit_log.c.id, False, batch):
        report.unsealed += len(rows)
        report.late.extend(r["id"] for r in rows if r["at"] < due)
        report.breaks.extend(
            f"unsealed row with id {r['id']} was changed after it was written"
            for r in rows
            if r["content_hash"] is None or _changed(r)
        )
    return report


async def _against_checkpoints(
    conn: AsyncConnection, checkpoints: Checkpoints, state: ChainState, report: Verification
) -> None:
    """Every checkpoint's row must still be there, saying the same; what it says of the chain's
    key boundary and archive must hold."""
    wanted: dict[int, list[str]] = {}
    archived = 0
    for line in checkpoints.read(state.chain):
        if line.checkpoint is None:
            report.breaks.append(str(line.problem))
            continue
        cp = line.checkpoint
        report.checkpoints += 1
        archived = max(archived, cp.archived_upto)
        if cp.keyed_from != state.keyed_from:
            report.breaks.append(
                f"the chain's keyed start is {state.keyed_from}, checkpoint line {line.number} "
                f"says {cp.keyed_from}: the chain was rewritten"
            )
        if cp.seq > state.archived_upto:
            wanted.setdefault(cp.seq, []).append(cp.hash)
        if cp.seq > report.head_seq:
            report.breaks.append(
                f"checkpoint line {line.number} saw the chain reach row {cp.seq}, it now ends at "
                f"{report.head_seq}: the newest rows were removed or the log truncated"
            )
    if state.archived_upto > archived:
        report.breaks.append(
            f"rows up to {state.archived_upto} are gone as if archived, but no checkpoint "
            f"records that archive (the newest says {archived})"
        )
    seqs = sorted(wanted)
    for start in range(0, len(seqs), 10_000):
        page = seqs[start : start + 10_000]
        found = dict(
            (
                await conn.execute(
                    select(audit_log.c.seq, audit_log.c.hash).where(audit_log.c.seq.in_(page))
                )
            ).all()
        )
        for seq in page:
            if seq in found and any(h != found[seq] for h in wanted[seq]):
                report.breaks.append(
                    f"row {seq} differs from its checkpoint: the chain was replaced"
                )
